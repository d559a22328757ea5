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

type applicantDTO struct {
	Name          string    `json:"name"`
	Phone         string    `json:"phone"`
	CitizenID     string    `json:"citizen_id"`
	Address       string    `json:"address"`
	AdminUnitCode string    `json:"admin_unit_code"`
	Location      *pointDTO `json:"location"`
}

type newDossierDTO struct {
	ProcedureID   string       `json:"procedure_id"`
	AgencyID      string       `json:"agency_id"`
	PostOfficeID  string       `json:"post_office_id"`
	Applicant     applicantDTO `json:"applicant"`
	Pickup        bool         `json:"pickup"`
	Return        bool         `json:"return"`
	PaymentMethod string       `json:"payment_method"`
	Channel       string       `json:"channel"`
}

type partyDTO struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

type taskDTO struct {
	ID            string    `json:"id"`
	DossierID     string    `json:"dossier_id"`
	PostOfficeID  string    `json:"post_office_id"`
	Kind          string    `json:"kind"`
	State         string    `json:"state"`
	CourierID     string    `json:"courier_id,omitempty"`
	ScheduledFor  string    `json:"scheduled_for,omitempty"`
	Attempts      int       `json:"attempts"`
	FailureReason string    `json:"failure_reason,omitempty"`
	Version       int       `json:"version"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type dossierDTO struct {
	ID                 string       `json:"id"`
	ReceiptCode        string       `json:"receipt_code"`
	ProcedureID        string       `json:"procedure_id"`
	AgencyID           string       `json:"agency_id"`
	PostOfficeID       string       `json:"post_office_id"`
	Applicant          applicantDTO `json:"applicant"`
	Pickup             bool         `json:"pickup"`
	Return             bool         `json:"return"`
	FeeVND             int64        `json:"fee_vnd"`
	PostageVND         int64        `json:"postage_vnd"`
	SurchargeVND       int64        `json:"surcharge_vnd"`
	DueVND             int64        `json:"due_vnd"`
	PaymentMethod      string       `json:"payment_method"`
	DeliveryChoice     string       `json:"delivery_choice,omitempty"`
	Channel            string       `json:"channel"`
	OutsideServiceArea bool         `json:"outside_service_area"`
	State              string       `json:"state"`
	Rejected           bool         `json:"rejected"`
	FailedAttempts     int          `json:"failed_attempts"`
	Holder             partyDTO     `json:"holder"`
	PickupDue          string       `json:"pickup_due,omitempty"`
	ReceivedAt         *time.Time   `json:"received_at,omitempty"`
	AppointmentDate    string       `json:"appointment_date,omitempty"`
	ResultReadyAt      *time.Time   `json:"result_ready_at,omitempty"`
	DeliveryDue        string       `json:"delivery_due,omitempty"`
	HeldUntil          string       `json:"held_until,omitempty"`
	DeliveredAt        *time.Time   `json:"delivered_at,omitempty"`
	NextDeadline       string       `json:"next_deadline,omitempty"`
	CustodyEntries     int          `json:"custody_entries"`
	Version            int          `json:"version"`
	CreatedAt          time.Time    `json:"created_at"`
	UpdatedAt          time.Time    `json:"updated_at"`
	Tasks              []taskDTO    `json:"tasks,omitempty" csv:"-"` // lists carry none
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

type proofDTO struct {
	SignatureSHA256 string `json:"signature_sha256"`
	PhotoSHA256     string `json:"photo_sha256"`
	SealNumber      string `json:"seal_number"`
	ManifestID      string `json:"manifest_id"`
	RecipientName   string `json:"recipient_name"`
	IdentityMethod  string `json:"identity_method"`
}

type eventDTO struct {
	Event      string     `json:"event"`
	Version    int        `json:"version" bound:"-int4..int4" column:"dossiers.version"`
	CourierID  string     `json:"courier_id"`
	Date       string     `json:"date"`
	Reason     string     `json:"reason"`
	Note       string     `json:"note"`
	Point      *pointDTO  `json:"point"`
	AccuracyM  float64    `json:"accuracy_m"`
	DeviceTime *time.Time `json:"device_time"`
	Proof      proofDTO   `json:"proof"`
	Recipient  string     `json:"recipient"`
	// Slot: the applicant's window on Date (schedule_pickup, schedule_redelivery).
	Slot *slotDTO `json:"slot"`
	// HandoverCode, CitizenIDLast4, AuthorisationSHA256: how a delivery's recipient
	// proved who they are (deliver).
	HandoverCode        string `json:"handover_code"`
	CitizenIDLast4      string `json:"citizen_id_last4"`
	AuthorisationSHA256 string `json:"authorisation_sha256"`
	Choice              string `json:"choice"`
	// DocumentsChecked: the checklist's documents found at a pickup (pick_up), by name.
	DocumentsChecked []string `json:"documents_checked"`
}

type custodyDTO struct {
	Seq        int        `json:"seq"`
	Item       string     `json:"item"`
	From       partyDTO   `json:"from"`
	To         partyDTO   `json:"to"`
	Event      string     `json:"event"`
	Point      *pointDTO  `json:"point,omitempty"`
	AccuracyM  float64    `json:"accuracy_m,omitempty"`
	DeviceTime *time.Time `json:"device_time,omitempty"`
	ServerTime time.Time  `json:"server_time"`
	Proof      proofDTO   `json:"proof"`
	ActorID    string     `json:"actor_id,omitempty"`
	PrevHash   string     `json:"prev_hash"`
	Hash       string     `json:"hash"`
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
	})
	rt.post("/dossiers/batch", creators.orPartner(auth.ScopeDossiersCreate), batchHandler(svc))
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
	})
	rt.get("/dossiers/:key", readers.orPartner(auth.ScopeDossiersRead), byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		d, tasks, err := svc.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(toDossierDTO(d, tasks))
	}))
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
	}))
	rt.get("/dossiers/:key/custody", readers, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		entries, err := svc.Custody(c.UserContext(), id)
		if err != nil {
			return err
		}
		out := make([]custodyDTO, len(entries))
		for i, e := range entries {
			out[i] = toCustodyDTO(e)
		}
		return c.JSON(fiber.Map{"items": out})
	}))
	rt.get("/dossiers/:key/custody/verify", readers, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		v, err := svc.Verify(c.UserContext(), id)
		if err != nil {
			return err
		}
		if !v.Intact {
			brokenChains.Inc()
		}
		return c.JSON(fiber.Map{"intact": v.Intact, "entries": v.Entries, "first_broken": v.FirstBroken, "reason": v.Reason})
	}))
	rt.get("/dossiers/:key/timeline", readers, timelineHandler(applicants))
	rt.get("/dossiers/:key/history", readers, byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		records, err := svc.History(c.UserContext(), id)
		if err != nil {
			return err
		}
		out := make([]fiber.Map, len(records))
		for i, r := range records {
			out[i] = fiber.Map{"at": r.At, "event": r.Event, "from": r.From, "to": r.To, "actor_role": r.ActorRole, "note": r.Note}
		}
		return c.JSON(fiber.Map{"items": out})
	}))
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
	})
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
	rt.get("/couriers/:key/bag", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier), holdings(dossier.PartyCourier))
	rt.get("/post-offices/:key/holdings", staff(auth.RoleAdmin, auth.RoleDispatcher), holdings(dossier.PartyPostOffice))
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
