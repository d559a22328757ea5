package api

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"courierd/domain"
	"courierd/domain/applicant"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// applicantDTO is who the dossier is for. In answers the citizen ID number is masked.
type applicantDTO struct {
	Name          string    `json:"name" example:"Nguyễn Văn An"`
	Phone         string    `json:"phone" example:"0912345678"`
	CitizenID     string    `json:"citizen_id" example:"079203001234" doc:"the 12-digit citizen ID number; answers show it masked"`
	Address       string    `json:"address" example:"12 Lý Thường Kiệt, Phường Cửa Nam, Hà Nội"`
	AdminUnitCode string    `json:"admin_unit_code" example:"00070" doc:"the commune/ward's code in the administrative units catalog"`
	Location      *pointDTO `json:"location" optional:"true" doc:"where the applicant is, when known"`
}

// newDossierDTO is a dossier to open (POST /v1/dossiers, and each item of a batch).
type newDossierDTO struct {
	ProcedureID   string       `json:"procedure_id" example:"5f0c2a4e-8b1d-4c53-9a2e-3f7d6b1c9e40"`
	AgencyID      string       `json:"agency_id" optional:"true" example:"0b6e4c1a-2d3f-4e5a-8b9c-1d2e3f4a5b6c" doc:"the agency settling it; a partner's or clerk's own agency when absent"`
	PostOfficeID  string       `json:"post_office_id" optional:"true" doc:"the post office serving the dossier; the one whose area holds the applicant's location when absent" example:"7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"`
	Applicant     applicantDTO `json:"applicant"`
	Pickup        bool         `json:"pickup" optional:"true" example:"true" doc:"a courier collects the dossier from the applicant"`
	Return        bool         `json:"return" optional:"true" example:"true" doc:"a courier brings the result back to the applicant"`
	PaymentMethod string       `json:"payment_method" optional:"true" enum:"cash_to_courier,vietqr,online,at_counter,nothing_due" example:"vietqr" doc:"how the fees are paid; chosen from the procedure and the legs when absent"`
	Channel       string       `json:"channel" optional:"true" enum:"counter,clerk,dispatcher,portal" example:"clerk" doc:"where the dossier was taken in; the caller's own when absent"`
}

type partyDTO struct {
	Kind string `json:"kind" enum:"applicant,courier,post_office,agency,proxy" example:"post_office"`
	ID   string `json:"id" example:"7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"`
}

type taskDTO struct {
	ID            string    `json:"id" example:"c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"`
	DossierID     string    `json:"dossier_id" example:"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"`
	PostOfficeID  string    `json:"post_office_id" example:"7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"`
	Kind          string    `json:"kind" enum:"pickup,dropoff,collection,delivery" example:"pickup"`
	State         string    `json:"state" enum:"open,scheduled,assigned,in_progress,done,failed,cancelled" example:"scheduled"`
	CourierID     string    `json:"courier_id,omitempty"`
	ScheduledFor  string    `json:"scheduled_for,omitempty" format:"date" example:"2026-12-08"`
	Attempts      int       `json:"attempts" example:"0"`
	FailureReason string    `json:"failure_reason,omitempty" enum:"not_at_home,refused,wrong_address,identity_not_proven,other" example:"not_at_home"`
	Version       int       `json:"version"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type dossierDTO struct {
	ID                 string       `json:"id" example:"9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"`
	ReceiptCode        string       `json:"receipt_code" example:"7K3M-9QX2-D" doc:"the code the applicant quotes and the parcel carries"`
	ProcedureID        string       `json:"procedure_id" example:"5f0c2a4e-8b1d-4c53-9a2e-3f7d6b1c9e40"`
	AgencyID           string       `json:"agency_id" example:"0b6e4c1a-2d3f-4e5a-8b9c-1d2e3f4a5b6c"`
	PostOfficeID       string       `json:"post_office_id" example:"7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"`
	Applicant          applicantDTO `json:"applicant"`
	Pickup             bool         `json:"pickup" example:"true"`
	Return             bool         `json:"return" example:"true"`
	FeeVND             int64        `json:"fee_vnd" example:"50000" doc:"the agency's fee"`
	PostageVND         int64        `json:"postage_vnd" example:"32000"`
	SurchargeVND       int64        `json:"surcharge_vnd" example:"5000" doc:"what the post charges for collecting the fee on the agency's behalf"`
	DueVND             int64        `json:"due_vnd" example:"87000" doc:"what the applicant still owes"`
	PaymentMethod      string       `json:"payment_method" enum:"cash_to_courier,vietqr,online,at_counter,nothing_due" example:"vietqr"`
	DeliveryChoice     string       `json:"delivery_choice,omitempty" enum:"home,post_office" example:"home"`
	Channel            string       `json:"channel" enum:"counter,clerk,dispatcher,portal" example:"clerk"`
	OutsideServiceArea bool         `json:"outside_service_area" example:"false" doc:"the applicant lives outside the post office's area"`
	State              string       `json:"state" enum:"requested,scheduled,assigned,picked_up,at_post_office,handed_to_agency,rejected_incomplete,in_processing,result_ready,result_at_post_office,out_for_delivery,delivered,delivery_failed,redelivery_scheduled,held_at_post_office,returned_to_agency,cancelled" example:"requested"`
	Rejected           bool         `json:"rejected" example:"false"`
	FailedAttempts     int          `json:"failed_attempts" example:"0"`
	Holder             partyDTO     `json:"holder"`
	PickupDue          string       `json:"pickup_due,omitempty" format:"date" example:"2026-12-09"`
	ReceivedAt         *time.Time   `json:"received_at,omitempty"`
	AppointmentDate    string       `json:"appointment_date,omitempty" format:"date" example:"2026-12-18" doc:"when the agency's result is due"`
	ResultReadyAt      *time.Time   `json:"result_ready_at,omitempty"`
	DeliveryDue        string       `json:"delivery_due,omitempty" format:"date" example:"2026-12-21"`
	HeldUntil          string       `json:"held_until,omitempty" format:"date" example:"2027-01-20"`
	DeliveredAt        *time.Time   `json:"delivered_at,omitempty"`
	NextDeadline       string       `json:"next_deadline,omitempty" format:"date" example:"2026-12-09"`
	CustodyEntries     int          `json:"custody_entries" example:"1"`
	Version            int          `json:"version" example:"1"`
	CreatedAt          time.Time    `json:"created_at"`
	UpdatedAt          time.Time    `json:"updated_at"`
	Tasks              []taskDTO    `json:"tasks,omitempty" csv:"-"` // lists carry none
}

// texts are values of a string kind as strings: an enum parameter's values.
func texts[T ~string](values ...T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func dateText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(dateLayout)
}

func toTaskDTO(t dossier.Task) taskDTO {
	return taskDTO{ID: t.ID.String(), DossierID: t.DossierID.String(), PostOfficeID: t.PostOfficeID.String(), Kind: string(t.Kind),
		State: string(t.State), CourierID: idText(t.CourierID), ScheduledFor: dateText(t.ScheduledFor), Attempts: t.Attempts,
		FailureReason: string(t.FailureReason), Version: t.Version, UpdatedAt: t.UpdatedAt}
}

// toDossierDTO shows a dossier to staff: the citizen ID number masked, always.
func toDossierDTO(d dossier.Dossier, tasks []dossier.Task) dossierDTO {
	a := d.Applicant
	dto := dossierDTO{ID: d.ID.String(), ReceiptCode: d.Receipt.String(), ProcedureID: d.ProcedureID.String(), AgencyID: d.AgencyID.String(),
		PostOfficeID: d.PostOfficeID.String(),
		Applicant: applicantDTO{Name: a.Name, Phone: a.Phone, CitizenID: a.MaskedCitizenID(), Address: a.Address,
			AdminUnitCode: a.AdminUnitCode, Location: toPointDTO(a.Location)},
		Pickup: d.Pickup, Return: d.Return, FeeVND: d.FeeVND, PostageVND: d.PostageVND, SurchargeVND: d.SurchargeVND, DueVND: d.DueVND(),
		PaymentMethod: string(d.Payment), DeliveryChoice: string(d.DeliveryChoice),
		Channel: string(d.Channel), OutsideServiceArea: d.OutsideServiceArea, State: string(d.State), Rejected: d.Rejected,
		FailedAttempts: d.FailedAttempts, Holder: partyDTO{Kind: string(d.Holder.Kind), ID: d.Holder.ID.String()},
		PickupDue: dateText(d.PickupDue), ReceivedAt: d.ReceivedAt, AppointmentDate: dateText(d.AppointmentDate),
		ResultReadyAt: d.ResultReadyAt, DeliveryDue: dateText(d.DeliveryDue), HeldUntil: dateText(d.HeldUntil),
		DeliveredAt: d.DeliveredAt, NextDeadline: dateText(d.NextDeadline()), CustodyEntries: d.CustodyCount,
		Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	for _, t := range tasks {
		dto.Tasks = append(dto.Tasks, toTaskDTO(t))
	}
	return dto
}

// proofDTO is what a handover's evidence was: hashes of the files uploaded, the seal, the
// manifest. Every field may be left out of a request.
type proofDTO struct {
	SignatureSHA256 string `json:"signature_sha256" optional:"true" example:"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
	PhotoSHA256     string `json:"photo_sha256" optional:"true"`
	SealNumber      string `json:"seal_number" optional:"true" example:"SEAL-000123"`
	ManifestID      string `json:"manifest_id" optional:"true"`
	RecipientName   string `json:"recipient_name" optional:"true" example:"Nguyễn Văn An"`
	IdentityMethod  string `json:"identity_method" optional:"true" example:"citizen_id"`
}

// eventDTO is one event on a dossier; besides event and version, which fields count
// depends on the event.
type eventDTO struct {
	Event      string     `json:"event" enum:"schedule_pickup,assign_pickup,set_out,pick_up,pickup_failed,arrive_post_office,hand_to_agency,agency_accept,agency_reject,result_ready,collect_result,assign_collection,dispatch_delivery,hand_to_courier,deliver,delivery_fail,schedule_redelivery,hold,collect_at_counter,collect_at_agency,return_to_agency,cancel,choose_delivery" example:"schedule_pickup"`
	Version    int        `json:"version" bound:"-int4..int4" column:"dossiers.version" example:"1" doc:"the dossier's version the caller read"`
	CourierID  string     `json:"courier_id" optional:"true"`
	Date       string     `json:"date" optional:"true" format:"date" example:"2026-12-08"`
	Reason     string     `json:"reason" optional:"true" enum:"not_at_home,refused,wrong_address,identity_not_proven,other"`
	Note       string     `json:"note" optional:"true"`
	Point      *pointDTO  `json:"point" optional:"true"`
	AccuracyM  float64    `json:"accuracy_m" optional:"true"`
	DeviceTime *time.Time `json:"device_time" optional:"true"`
	Proof      proofDTO   `json:"proof" optional:"true"`
	Recipient  string     `json:"recipient" optional:"true" enum:"applicant,proxy"`
	// Slot: the applicant's window on Date (schedule_pickup, schedule_redelivery).
	Slot *slotDTO `json:"slot" optional:"true"`
	// HandoverCode, CitizenIDLast4, AuthorisationSHA256: how a delivery's recipient
	// proved who they are (deliver).
	HandoverCode        string `json:"handover_code" optional:"true" example:"482913"`
	CitizenIDLast4      string `json:"citizen_id_last4" optional:"true" example:"1234"`
	AuthorisationSHA256 string `json:"authorisation_sha256" optional:"true"`
	Choice              string `json:"choice" optional:"true" enum:"home,post_office"`
	// DocumentsChecked: the checklist's documents found at a pickup (pick_up), by name.
	DocumentsChecked []string `json:"documents_checked" optional:"true"`
}

type custodyDTO struct {
	Seq        int        `json:"seq" example:"1"`
	Item       string     `json:"item" example:"dossier"`
	From       partyDTO   `json:"from"`
	To         partyDTO   `json:"to"`
	Event      string     `json:"event" example:"pick_up"`
	Point      *pointDTO  `json:"point,omitempty"`
	AccuracyM  float64    `json:"accuracy_m,omitempty"`
	DeviceTime *time.Time `json:"device_time,omitempty"`
	ServerTime time.Time  `json:"server_time"`
	Proof      proofDTO   `json:"proof"`
	ActorID    string     `json:"actor_id,omitempty"`
	PrevHash   string     `json:"prev_hash"`
	Hash       string     `json:"hash"`
}

// itemsBody is an unpaged list: everything there is.
type itemsBody[D any] struct {
	Items []D `json:"items"`
}

// verificationDTO is whether a dossier's custody ledger checks out.
type verificationDTO struct {
	Intact      bool   `json:"intact" example:"true"`
	Entries     int    `json:"entries" example:"3"`
	FirstBroken int    `json:"first_broken" example:"0" doc:"the seq of the first entry that does not check out; 0 when intact"`
	Reason      string `json:"reason" doc:"why, in words; empty when intact"`
}

// historyDTO is one state change of a dossier.
type historyDTO struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event" example:"created"`
	From      string    `json:"from" example:"requested"`
	To        string    `json:"to" example:"scheduled"`
	ActorRole string    `json:"actor_role" example:"dispatcher"`
	Note      string    `json:"note"`
}

func mountDossiers(rt *router, svc *dossier.Service, applicants *applicant.Service, brokenChains prometheus.Counter) {
	creators := staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk)
	readers := staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleClerk, auth.RoleCourier)
	rt.post("/dossiers", creators.orPartner(auth.ScopeDossiersCreate), func(c *fiber.Ctx) error {
		var body newDossierDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		n := fromNewDossierDTO(&p, body)
		if err := p.Err(); err != nil {
			return err
		}
		d, err := svc.Create(c.UserContext(), n)
		if err != nil {
			return err
		}
		_, tasks, err := svc.Get(c.UserContext(), d.ID)
		if err != nil {
			return err
		}
		c.Location("/v1/dossiers/" + d.ID.String())
		return c.Status(fiber.StatusCreated).JSON(toDossierDTO(d, tasks))
	}).doc("Open a dossier, with the field tasks it needs").takes(newDossierDTO{}).answers(fiber.StatusCreated, dossierDTO{})
	rt.post("/dossiers/batch", creators.orPartner(auth.ScopeDossiersCreate), batchHandler(svc)).
		doc("Open many dossiers at once, each on its own: every item's outcome in the request's order; as JSON, or as text/csv with one dossier a row (the item's fields flattened: applicant_name, applicant_location_lat, …)").
		takes(batchDTO{}).alsoTakes(mimeCSV).answers(fiber.StatusOK, batchResultsDTO{}).fails(dossier.CodeBatchTooLarge)
	rt.get("/dossiers", readers.orPartner(auth.ScopeDossiersRead), func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		// Copies: a CSV export reads with the filter after the request's buffers are reused.
		f := dossier.Filter{State: dossier.State(strings.Clone(c.Query("state"))), AgencyID: optionalID(&p, "agency_id", c.Query("agency_id"))}
		if office := optionalID(&p, "post_office_id", c.Query("post_office_id")); office != uuid.Nil {
			f.PostOfficeIDs = []uuid.UUID{office}
		}
		if raw := c.Query("receipt_code"); raw != "" {
			code, err := dossier.ParseReceiptCode(raw)
			if err != nil {
				return err
			}
			f.Receipt = code
		}
		if err := p.Err(); err != nil {
			return err
		}
		due := dossier.Due(strings.Clone(c.Query("due")))
		return answerList(c, "dossiers.csv", page, func(ctx context.Context, page domain.Page) (domain.List[dossier.Dossier], error) {
			return svc.List(ctx, f, due, page)
		}, listedDossier)
	}).doc("List the dossiers the caller may see (without their tasks)").params(paging...).
		params(enumParam("state", "only dossiers in this state", texts(dossier.States...)...),
			param("agency_id", "", "only this agency's dossiers (a UUID)"),
			param("post_office_id", "", "only this post office's dossiers (a UUID)"),
			param("receipt_code", "", "the dossier with this receipt code, as people type it (any case, dashes optional)"),
			enumParam("due", "only dossiers whose next deadline is today, past, or at risk", texts(dossier.DueToday, dossier.DueOverdue, dossier.DueAtRisk)...)).
		answers(fiber.StatusOK, listBody[dossierDTO]{}).alsoAnswers(mimeCSV).fails(dossier.CodeBadReceiptCode)
	rt.get("/dossiers/:key", readers.orPartner(auth.ScopeDossiersRead), byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		d, tasks, err := svc.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toDossierDTO(d, tasks))
	})).doc("One dossier, with its tasks").answers(fiber.StatusOK, dossierDTO{})
	rt.post("/dossiers/:key/events", readers, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		var body eventDTO
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		in, err := fromEventDTO(body)
		if err != nil {
			return err
		}
		if _, err := svc.Apply(c.UserContext(), id, in); err != nil {
			return err
		}
		d, tasks, err := svc.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toDossierDTO(d, tasks))
	})).doc("Record an event on a dossier (send the version read); answers the dossier as it is now").takes(eventDTO{}).
		answers(fiber.StatusOK, dossierDTO{}).
		fails(dossier.CodeInvalidTransition, domain.CodeVersionConflict, dossier.CodeNotHeld, dossier.CodeOnManifest,
			dossier.CodeNotInBag, dossier.CodeAttemptsExhausted, dossier.CodeHandoverWrong, dossier.CodeHandoverExpired,
			dossier.CodeHandoverLocked, dossier.CodeIdentityMismatch, dossier.CodeProofMissing, dossier.CodeSlotFull,
			auth.CodeDeviceNotBound)
	rt.get("/dossiers/:key/custody", readers, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		entries, err := svc.Custody(c.UserContext(), id)
		if err != nil {
			return err
		}
		out := make([]custodyDTO, len(entries))
		for i, e := range entries {
			out[i] = toCustodyDTO(e)
		}
		return c.JSON(itemsBody[custodyDTO]{Items: out})
	})).doc("A dossier's custody ledger: who held it, from whom, with what proof, hash-chained").
		answers(fiber.StatusOK, itemsBody[custodyDTO]{})
	rt.get("/dossiers/:key/custody/verify", readers, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		v, err := svc.Verify(c.UserContext(), id)
		if err != nil {
			return err
		}
		if !v.Intact {
			brokenChains.Inc()
		}
		return c.JSON(verificationDTO{Intact: v.Intact, Entries: v.Entries, FirstBroken: v.FirstBroken, Reason: v.Reason})
	})).doc("Check a dossier's custody ledger against its hash chain").answers(fiber.StatusOK, verificationDTO{})
	rt.get("/dossiers/:key/timeline", readers, timelineHandler(applicants)).
		doc("A dossier's timeline as its applicant reads it, and the next step").
		params(enumParam("lang", "the answer's language, before Accept-Language", "vi", "en")).
		answers(fiber.StatusOK, timelineDTO{}).words()
	rt.get("/dossiers/:key/history", readers, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		records, err := svc.History(c.UserContext(), id)
		if err != nil {
			return err
		}
		out := make([]historyDTO, len(records))
		for i, r := range records {
			out[i] = historyDTO{At: r.At, Event: string(r.Event), From: string(r.From), To: string(r.To), ActorRole: r.ActorRole, Note: r.Note}
		}
		return c.JSON(itemsBody[historyDTO]{Items: out})
	})).doc("A dossier's state changes, oldest first").answers(fiber.StatusOK, itemsBody[historyDTO]{})
	rt.get("/tasks", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier), func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		f := dossier.TaskFilter{Kind: dossier.TaskKind(c.Query("kind")), State: dossier.TaskState(c.Query("state")),
			CourierID: optionalID(&p, "courier_id", c.Query("courier_id")), ScheduledFor: queryDate(c, &p, "date")}
		if err := p.Err(); err != nil {
			return err
		}
		list, err := svc.ListTasks(c.UserContext(), f, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, toTaskDTO))
	}).doc("List field tasks").params(paging...).
		params(enumParam("kind", "only tasks of this kind", texts(dossier.TaskPickup, dossier.TaskDropoff, dossier.TaskCollection, dossier.TaskDelivery)...),
			enumParam("state", "only tasks in this state", texts(dossier.TaskStates...)...),
			param("courier_id", "", "only this courier's tasks (a UUID)"),
			dateParam("date", "only tasks scheduled for this day")).
		answers(fiber.StatusOK, listBody[taskDTO]{})
	holdings := func(kind dossier.PartyKind) fiber.Handler {
		return byID(string(kind), func(c *fiber.Ctx, id uuid.UUID) error {
			var p domain.Problems
			page := queryPage(c, &p)
			if err := p.Err(); err != nil {
				return err
			}
			return answerList(c, "holdings-"+string(kind)+"-"+id.String()+".csv", page,
				func(ctx context.Context, page domain.Page) (domain.List[dossier.Dossier], error) {
					return svc.Holdings(ctx, dossier.Party{Kind: kind, ID: id}, page)
				}, listedDossier)
		})
	}
	rt.get("/couriers/:key/bag", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier), holdings(dossier.PartyCourier)).
		doc("The dossiers and results a courier carries").params(paging...).answers(fiber.StatusOK, listBody[dossierDTO]{}).alsoAnswers(mimeCSV)
	rt.get("/post-offices/:key/holdings", staff(auth.RoleAdmin, auth.RoleDispatcher), holdings(dossier.PartyPostOffice)).
		doc("The dossiers and results a post office holds").params(paging...).answers(fiber.StatusOK, listBody[dossierDTO]{}).alsoAnswers(mimeCSV)
}

// listedDossier is a dossier in a list: without its stops.
func listedDossier(d dossier.Dossier) dossierDTO { return toDossierDTO(d, nil) }

func fromNewDossierDTO(p *domain.Problems, b newDossierDTO) dossier.NewDossier {
	return dossier.NewDossier{ProcedureID: optionalID(p, "procedure_id", b.ProcedureID), AgencyID: optionalID(p, "agency_id", b.AgencyID),
		PostOfficeID: optionalID(p, "post_office_id", b.PostOfficeID), Pickup: b.Pickup, Return: b.Return,
		Payment: dossier.PaymentMethod(b.PaymentMethod), Channel: dossier.Channel(b.Channel),
		Applicant: dossier.Applicant{Name: b.Applicant.Name, Phone: b.Applicant.Phone, CitizenID: b.Applicant.CitizenID,
			Address: b.Applicant.Address, AdminUnitCode: b.Applicant.AdminUnitCode,
			Location: fromPointDTO(p, "applicant.location", b.Applicant.Location)}}
}

func fromEventDTO(b eventDTO) (dossier.EventInput, error) {
	var p domain.Problems
	in := dossier.EventInput{Event: dossier.Event(b.Event), Version: b.Version, CourierID: optionalID(&p, "courier_id", b.CourierID),
		Reason: dossier.FailureReason(b.Reason), Note: b.Note, AccuracyM: b.AccuracyM, DeviceTime: b.DeviceTime,
		Recipient: dossier.PartyKind(b.Recipient), Slot: fromSlotDTO(&p, "slot", b.Slot), Choice: dossier.DeliveryChoice(b.Choice),
		Door: dossier.DoorCheck{HandoverCode: b.HandoverCode, CitizenIDLast4: b.CitizenIDLast4, AuthorisationSHA256: b.AuthorisationSHA256},
		Proof: dossier.Proof{SignatureSHA256: b.Proof.SignatureSHA256, PhotoSHA256: b.Proof.PhotoSHA256, SealNumber: b.Proof.SealNumber,
			ManifestID: optionalID(&p, "proof.manifest_id", b.Proof.ManifestID), RecipientName: b.Proof.RecipientName,
			IdentityMethod: b.Proof.IdentityMethod},
		DocumentsChecked: b.DocumentsChecked}
	if b.Date != "" {
		in.Date = parseDate(&p, "date", b.Date)
	}
	if b.Point != nil {
		pt := fromPointDTO(&p, "point", b.Point)
		in.Point = &pt
	}
	return in, p.Err()
}

func toCustodyDTO(e dossier.CustodyEntry) custodyDTO {
	dto := custodyDTO{Seq: e.Seq, Item: e.Item, From: partyDTO{string(e.From.Kind), e.From.ID.String()},
		To: partyDTO{string(e.To.Kind), e.To.ID.String()}, Event: string(e.Event), AccuracyM: e.AccuracyM, DeviceTime: e.DeviceTime,
		ServerTime: e.ServerTime, ActorID: idText(e.ActorID), PrevHash: e.PrevHash, Hash: e.Hash,
		Proof: proofDTO{SignatureSHA256: e.Proof.SignatureSHA256, PhotoSHA256: e.Proof.PhotoSHA256, SealNumber: e.Proof.SealNumber,
			ManifestID: idText(e.Proof.ManifestID), RecipientName: e.Proof.RecipientName, IdentityMethod: e.Proof.IdentityMethod}}
	if e.Point != nil {
		dto.Point = toPointDTO(orb.Point(*e.Point))
	}
	return dto
}
