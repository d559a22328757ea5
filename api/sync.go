package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
	"courierd/domain/input"
	"courierd/domain/payment"
)

type fieldTaskDTO struct {
	TaskID         string     `json:"task_id"`
	DossierID      string     `json:"dossier_id"`
	Kind           string     `json:"kind"`
	State          string     `json:"state"`
	Version        int        `json:"version"`
	ScheduledFor   string     `json:"scheduled_for,omitempty"`
	RouteSeq       *int       `json:"route_seq,omitempty"`
	PlannedArrival *time.Time `json:"planned_arrival,omitempty"`
	// Since 1.5.0: the stop's trip and, on a trip's first stop after the first, the
	// return to the post office to reload before it.
	RouteTrip       *int       `json:"route_trip,omitempty"`
	ReloadArrival   *time.Time `json:"reload_arrival,omitempty"`
	ReloadDeparture *time.Time `json:"reload_departure,omitempty"`
	ReceiptCode     string     `json:"receipt_code"`
	DossierState    string     `json:"dossier_state"`
	DossierVersion  int        `json:"dossier_version"`
	ApplicantName   string     `json:"applicant_name"`
	ApplicantPhone  string     `json:"applicant_phone"`
	Address         string     `json:"address"`
	Location        *pointDTO  `json:"location"`
	AgencyName      string     `json:"agency_name,omitempty"`
	Slot            *slotDTO   `json:"slot,omitempty"`
	AmountDueVND    int64      `json:"amount_due_vnd,omitempty"`
	VietQR          string     `json:"vietqr,omitempty"`
	// Since 1.4.0: the procedure, its checklist at a pickup, its needs at a delivery.
	ProcedureCode string           `json:"procedure_code,omitempty"`
	ProcedureName string           `json:"procedure_name,omitempty"`
	Checklist     []documentDTO    `json:"checklist,omitempty"`
	Needs         *deliveryNeedDTO `json:"needs,omitempty"`
}

type deliveryNeedDTO struct {
	Signature     bool `json:"signature"`
	ProxyPhoto    bool `json:"proxy_photo"`
	IdentityCheck bool `json:"identity_check"`
	ProxyAllowed  bool `json:"proxy_allowed"`
}

type feedChangeDTO struct {
	V      int64         `json:"v"`
	Entity string        `json:"entity"`
	Op     string        `json:"op"`
	ID     string        `json:"id"`
	Reason string        `json:"reason,omitempty"`
	Data   *fieldTaskDTO `json:"data,omitempty"`
}

type pullDTO struct {
	Cursor  string          `json:"cursor"`
	HasMore bool            `json:"has_more"`
	Reset   bool            `json:"reset"`
	Changes []feedChangeDTO `json:"changes"`
	LastSeq int64           `json:"last_seq"`
	// MissingAttachments are proof files the courier's handovers name that never arrived:
	// upload them again.
	MissingAttachments []string  `json:"missing_attachments"`
	ServerTime         time.Time `json:"server_time"`
}

// toFeedChangeDTO is a change as the device reads it; a stop where money is taken carries
// the VietQR code for it, for the applicant to scan from the courier's screen.
func toFeedChangeDTO(c dossier.FeedChange, account payment.Account) (feedChangeDTO, error) {
	dto := feedChangeDTO{V: c.V, Entity: "task", Op: c.Op, ID: c.TaskID.String(), Reason: c.Reason}
	if t := c.Task; t != nil {
		receipt, err := dossier.ParseReceiptCode(t.ReceiptCode)
		if err != nil {
			return dto, err
		}
		qr, err := account.QR(receipt, t.AmountDueVND)
		if err != nil {
			return dto, err
		}
		dto.Data = &fieldTaskDTO{TaskID: t.TaskID.String(), DossierID: t.DossierID.String(), Kind: string(t.Kind), State: string(t.State),
			Version: t.Version, ScheduledFor: dateText(t.ScheduledFor),
			RouteSeq: t.RouteSeq, PlannedArrival: t.PlannedArrival, RouteTrip: t.RouteTrip, ReloadArrival: t.ReloadArrival,
			ReloadDeparture: t.ReloadDeparture, ReceiptCode: t.ReceiptCode, DossierState: string(t.DossierState),
			DossierVersion: t.DossierVersion, ApplicantName: t.ApplicantName, ApplicantPhone: t.ApplicantPhone, Address: t.Address,
			Location: toPointDTO(t.Location), AgencyName: t.AgencyName, Slot: toSlotDTO(t.Slot), AmountDueVND: t.AmountDueVND, VietQR: qr,
			ProcedureCode: t.ProcedureCode, ProcedureName: t.ProcedureName, Needs: (*deliveryNeedDTO)(t.Needs)}
		for _, d := range t.Checklist {
			dto.Data.Checklist = append(dto.Data.Checklist, documentDTO{Name: d.Name, Form: string(d.Form), Quantity: d.Quantity})
		}
	}
	return dto, nil
}

func mountSync(rt *router, svc *fieldsync.Service, account payment.Account, now func() time.Time) {
	rt.get("/device/sync/pull", onDevice, func(c *fiber.Ctx) error {
		var p domain.Problems
		limit := queryInt(c, &p, "limit")
		if err := p.Err(); err != nil {
			return err
		}
		page, err := svc.Pull(c.UserContext(), c.Query("cursor"), limit, c.Get(headerAppVersion))
		if err != nil {
			return err
		}
		out := pullDTO{Cursor: page.Cursor, HasMore: page.HasMore, Reset: page.Reset, Changes: make([]feedChangeDTO, len(page.Changes)),
			LastSeq: page.LastSeq, MissingAttachments: page.MissingProofs, ServerTime: now().UTC()}
		for i, ch := range page.Changes {
			if out.Changes[i], err = toFeedChangeDTO(ch, account); err != nil {
				return err
			}
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(out)
	})
}

type gpsDTO struct {
	Lat       *float64 `json:"lat"`
	Lon       *float64 `json:"lon"`
	AccuracyM float64  `json:"accuracy_m"`
}

type mutationDTO struct {
	Seq         int64           `json:"seq" bound:"1..int8" column:"sync_mutations.seq sync_devices.last_seq field_reports.seq"`
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	TaskID      string          `json:"task_id"`
	TaskVersion int             `json:"task_version" bound:"0..int4" column:"field_reports.task_version"`
	OccurredAt  time.Time       `json:"occurred_at"`
	GPS         *gpsDTO         `json:"gps"`
	Payload     json.RawMessage `json:"payload" input:"deferred"` // read by its type's reader
}

type pushBody struct {
	Mutations []json.RawMessage `json:"mutations" input:"deferred"` // read one by one: a bad one is refused alone
}

type outcomeDTO struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	Status string `json:"status"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Errors are the mutation's fields at fault, as in a problem's errors.
	Errors []problemField `json:"errors,omitempty"`
}

// earliestDeviceTime refuses device clocks that were never set: nothing in the field
// happened before the service existed.
var earliestDeviceTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// fromMutations reads a batch. A mutation whose seq and id can be read is answered as
// itself: when the rest of it is not what the contract says, it is rejected with its
// fields at fault and the device's queue moves past it. One without a readable seq and id
// cannot be answered at all, and refuses the batch.
func fromMutations(raws []json.RawMessage, now time.Time) ([]fieldsync.Mutation, error) {
	var p domain.Problems
	out := make([]fieldsync.Mutation, 0, len(raws))
	for i, raw := range raws {
		m, ok := fromMutation(raw, now)
		if !ok {
			p.Add(fmt.Sprintf("mutations[%d]", i), "needs a seq (1 or more) and an id (a UUID other than nil) to be answered")
			continue
		}
		out = append(out, m)
	}
	return out, p.Err()
}

// fromMutation reads one mutation strictly; its field names are its own (task_version,
// payload.text), as its answer names it by seq.
func fromMutation(raw json.RawMessage, now time.Time) (fieldsync.Mutation, bool) {
	// Who the mutation is, read leniently: enough to answer it whatever else it holds.
	var head struct {
		Seq int64  `json:"seq"`
		ID  string `json:"id"`
	}
	_ = json.Unmarshal(raw, &head)
	id, err := uuid.Parse(head.ID)
	if head.Seq < 1 || err != nil || id == uuid.Nil {
		return fieldsync.Mutation{}, false
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw) // raw was read as part of the batch, so it is valid JSON
	m := fieldsync.Mutation{Seq: head.Seq, ID: id, Hash: fieldsync.Fingerprint(compact.Bytes())}
	var dto mutationDTO
	if err := input.Decode(raw, &dto, ""); err != nil {
		e, _ := domain.AsError(err)
		if len(e.Fields) == 0 {
			e, _ = domain.AsError(domain.Invalid("mutation", e.Message))
		}
		m.Type, m.Invalid = input.Clean(dto.Type), e
		return m, true
	}
	var p domain.Problems
	m.Type, m.TaskVersion, m.OccurredAt, m.Payload = dto.Type, dto.TaskVersion, dto.OccurredAt, dto.Payload
	m.TaskID = optionalID(&p, "task_id", dto.TaskID)
	p.Check(dto.Type != "", "type", "is required")
	p.Check(!dto.OccurredAt.Before(earliestDeviceTime) && dto.OccurredAt.Before(now.Add(24*time.Hour)), "occurred_at",
		"must be a time between 2020 and tomorrow (check the device's clock)")
	if dto.GPS != nil {
		pt := fromPointDTO(&p, "gps", &pointDTO{Lat: dto.GPS.Lat, Lon: dto.GPS.Lon})
		p.Check(pt.Lat() >= -90 && pt.Lat() <= 90 && pt.Lon() >= -180 && pt.Lon() <= 180, "gps", "must be a real position")
		// Kept as field_reports.accuracy_m (real): bounded as a breadcrumb's is.
		p.Check(dto.GPS.AccuracyM >= 0 && dto.GPS.AccuracyM <= 100_000, "gps.accuracy_m", "must be 0 to 100000 metres")
		m.Point, m.AccuracyM = &pt, dto.GPS.AccuracyM
	}
	if err := p.Err(); err != nil {
		m.Invalid, _ = domain.AsError(err)
	}
	return m, true
}

func mountPush(rt *router, svc *fieldsync.Pusher, admit *slots, now func() time.Time, quarantined *prometheus.CounterVec, nudge func(*fiber.Ctx), log *slog.Logger) {
	rt.post("/device/sync/push", drainQueue, func(c *fiber.Ctx) error {
		release, err := admit.take(c.UserContext())
		if err != nil {
			return err
		}
		defer release()
		var body pushBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		batch, err := fromMutations(body.Mutations, now())
		if err != nil {
			return err
		}
		res, err := svc.Push(c.UserContext(), batch)
		if err != nil {
			return err
		}
		out := fiber.Map{"last_seq": res.LastSeq}
		results := make([]outcomeDTO, len(res.Results))
		for i, o := range res.Results {
			results[i] = outcomeDTO{Seq: o.Seq, ID: o.ID.String(), Status: o.Status, Code: string(o.Code), Detail: o.Detail}
			for _, f := range o.Fields {
				results[i].Errors = append(results[i].Errors, problemField{Field: f.Field, Reason: f.Reason})
			}
			if o.Quarantined {
				// The alert: a fact from the field waits for a dispatcher (GET /v1/quarantine).
				quarantined.WithLabelValues(string(o.Code)).Inc()
				log.Warn("field fact quarantined", "mutation_id", o.ID.String(), "code", string(o.Code))
			}
		}
		out["results"] = results
		nudge(c)
		return c.JSON(out)
	})
}

// blobPrefix is where proof files go; only there may a body exceed the JSON limit.
const blobPrefix = "/v1/device/blobs/"

func mountBlobs(rt *router, blobs *fieldsync.Blobs) {
	rt.handle(fiber.MethodHead, "/device/blobs/:key", drainQueue, func(c *fiber.Ctx) error {
		has, err := blobs.Has(c.UserContext(), c.Params("key"))
		if err != nil {
			return err
		}
		if !has {
			return c.SendStatus(fiber.StatusNotFound)
		}
		return c.SendStatus(fiber.StatusOK)
	})
	rt.put("/device/blobs/:key", drainQueue, func(c *fiber.Ctx) error {
		created, err := blobs.Put(c.UserContext(), c.Params("key"), c.Body())
		if err != nil {
			return err
		}
		status := fiber.StatusOK
		if created {
			status = fiber.StatusCreated
		}
		return c.Status(status).JSON(fiber.Map{"sha256": c.Params("key"), "created": created})
	})
}

type pointInDTO struct {
	Seq        int64     `json:"seq" bound:"-int8..int8" column:"breadcrumbs.point_seq"`
	At         time.Time `json:"at"`
	Lat        *float64  `json:"lat"`
	Lon        *float64  `json:"lon"`
	AccuracyM  float64   `json:"accuracy_m"`
	SpeedMPS   *float64  `json:"speed_mps"`
	HeadingDeg *float64  `json:"heading_deg"`
	BatteryPct *int      `json:"battery_pct" bound:"-int2..int2" column:"breadcrumbs.battery_pct"`
}

type trackBody struct {
	Points []pointInDTO `json:"points"`
}

func mountTracks(rt *router, tracks *fieldsync.Tracks, cat *catalog.Catalog, nudge func(*fiber.Ctx)) {
	rt.post("/device/locations", drainQueue, func(c *fiber.Ctx) error {
		var body trackBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		points := make([]fieldsync.Point, len(body.Points))
		for i, in := range body.Points {
			field := fmt.Sprintf("points[%d]", i)
			points[i] = fieldsync.Point{Seq: in.Seq, At: in.At, Lat: required(&p, field+".lat", in.Lat), Lon: required(&p, field+".lon", in.Lon),
				AccuracyM: in.AccuracyM, SpeedMPS: in.SpeedMPS, HeadingDeg: in.HeadingDeg, BatteryPct: in.BatteryPct}
		}
		if err := p.Err(); err != nil {
			return err
		}
		stored, duplicates, err := tracks.Upload(c.UserContext(), points)
		if err != nil {
			return err
		}
		if stored > 0 {
			nudge(c)
		}
		return c.JSON(fiber.Map{"stored": stored, "duplicates": duplicates})
	})
	rt.get("/couriers/:key/position", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier), byID("courier", func(c *fiber.Ctx, id uuid.UUID) error {
		// The courier policy answers NOT_FOUND for couriers the caller may not see.
		if _, err := cat.Couriers.Get(c.UserContext(), id.String()); err != nil {
			return err
		}
		pt, err := tracks.Position(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(lastPositionDTO{At: pt.At, Location: toPointDTO(orb.Point{pt.Lon, pt.Lat}), AccuracyM: pt.AccuracyM})
	})).doc("Where a courier was last seen (NOT_FOUND before their device sent any position)").
		answers(fiber.StatusOK, lastPositionDTO{})
}

// lastPositionDTO is a courier's last breadcrumb.
type lastPositionDTO struct {
	At        time.Time `json:"at"`
	Location  *pointDTO `json:"location"`
	AccuracyM float64   `json:"accuracy_m" example:"12.5"`
}

// resolveBody says how a quarantined fact was settled.
type resolveBody struct {
	Resolution string `json:"resolution" example:"confirmed with the courier by phone; delivered on the 8th"`
}

// quarantinedDTO is a fact from the field the server could not apply, waiting for a
// dispatcher.
type quarantinedDTO struct {
	MutationID string          `json:"mutation_id"`
	DeviceID   string          `json:"device_id"`
	CourierID  string          `json:"courier_id"`
	TaskID     string          `json:"task_id,omitempty"`
	Type       string          `json:"type" example:"delivered"`
	Code       string          `json:"code" example:"TASK_REASSIGNED" doc:"why it could not be applied: a problem code"`
	Payload    json.RawMessage `json:"payload" doc:"the mutation's payload as the device sent it"`
	CreatedAt  time.Time       `json:"created_at"`
	ResolvedAt *time.Time      `json:"resolved_at,omitempty"`
	ResolvedBy string          `json:"resolved_by,omitempty"`
	Resolution string          `json:"resolution,omitempty"`
}

func mountQuarantine(rt *router, q *fieldsync.Quarantine) {
	who := staff(auth.RoleAdmin, auth.RoleDispatcher)
	rt.get("/quarantine", who, func(c *fiber.Ctx) error {
		var p domain.Problems
		page, resolved := queryPage(c, &p), queryBool(c, &p, "resolved")
		if err := p.Err(); err != nil {
			return err
		}
		list, err := q.List(c.UserContext(), resolved, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, func(x fieldsync.Quarantined) quarantinedDTO {
			return quarantinedDTO{MutationID: x.MutationID.String(), DeviceID: x.DeviceID.String(), CourierID: x.CourierID.String(),
				TaskID: idText(x.TaskID), Type: x.Type, Code: string(x.Code), Payload: x.Payload, CreatedAt: x.CreatedAt,
				ResolvedAt: x.ResolvedAt, ResolvedBy: idText(x.ResolvedBy), Resolution: x.Resolution}
		}))
	}).doc("List quarantined facts from the field").params(paging...).
		params(param("resolved", false, "only those settled (true) or still open (false)")).
		answers(fiber.StatusOK, listBody[quarantinedDTO]{})
	rt.post("/quarantine/:key/resolve", who, byID("quarantined item", func(c *fiber.Ctx, id uuid.UUID) error {
		var body resolveBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		if err := q.Resolve(c.UserContext(), id, body.Resolution); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})).doc("Settle a quarantined fact, saying how").takes(resolveBody{}).answers(fiber.StatusNoContent, nil)
}

type fieldReportDTO struct {
	MutationID  string          `json:"mutation_id"`
	TaskID      string          `json:"task_id"`
	CourierID   string          `json:"courier_id"`
	DeviceID    string          `json:"device_id"`
	Type        string          `json:"type" example:"picked_up"`
	TaskVersion int             `json:"task_version,omitempty"`
	Payload     json.RawMessage `json:"payload" doc:"the mutation's payload as the device sent it"`
	OccurredAt  time.Time       `json:"occurred_at"`
	Point       *pointDTO       `json:"point,omitempty"`
	AccuracyM   float64         `json:"accuracy_m,omitempty"`
	RecordedAt  time.Time       `json:"recorded_at"`
}

type cashLineDTO struct {
	MutationID    string    `json:"mutation_id"`
	DossierID     string    `json:"dossier_id"`
	TaskID        string    `json:"task_id"`
	AmountVND     int64     `json:"amount_vnd" example:"87000"`
	Method        string    `json:"method" enum:"cash,bank_transfer,qr" example:"cash"`
	ReceiptNumber string    `json:"receipt_number,omitempty"`
	CollectedAt   time.Time `json:"collected_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	HandInID      string    `json:"hand_in_id,omitempty" doc:"the hand-in that covered it; absent while the cash is the courier's"`
}

// handInRequestBody is what the receiver at the counter records.
type handInRequestBody struct {
	Date        string `json:"date" format:"date" example:"2026-12-08" doc:"the day of the collections"`
	CountedVND  int64  `json:"counted_vnd" bound:"-int8..int8" column:"cash_handins.counted_vnd" example:"85000" doc:"the cash counted at the counter"`
	ToHandInVND int64  `json:"to_hand_in_vnd" bound:"-int8..int8" column:"cash_handins.to_hand_in_vnd" example:"87000" doc:"the still_to_hand_in_vnd the receiver was shown; refused with CASH_CHANGED if it moved since"`
}

// handInDTO is a courier's cash received at the counter.
type handInDTO struct {
	ID           string    `json:"id"`
	CourierID    string    `json:"courier_id"`
	PostOfficeID string    `json:"post_office_id"`
	Date         string    `json:"date" format:"date" example:"2026-12-08"`
	ToHandInVND  int64     `json:"to_hand_in_vnd" example:"87000" doc:"the cash lines it covers, summed"`
	CountedVND   int64     `json:"counted_vnd" example:"85000"`
	ShortVND     int64     `json:"short_vnd" example:"2000" doc:"what the counted cash lacked"`
	OverVND      int64     `json:"over_vnd" example:"0" doc:"what the counted cash had beyond the lines"`
	ReceivedBy   string    `json:"received_by" doc:"the account that counted it"`
	HandedInAt   time.Time `json:"handed_in_at"`
	Lines        []string  `json:"lines" doc:"the cash lines it covers (their mutation ids)"`
}

func toHandInDTO(h fieldsync.HandIn) handInDTO {
	lines := make([]string, len(h.Lines))
	for i, l := range h.Lines {
		lines[i] = l.String()
	}
	return handInDTO{ID: h.ID.String(), CourierID: h.CourierID.String(), PostOfficeID: h.PostOfficeID.String(), Date: h.Day.Format(dateLayout),
		ToHandInVND: h.ToHandInVND, CountedVND: h.CountedVND, ShortVND: h.ShortVND(), OverVND: h.OverVND(), ReceivedBy: h.ReceivedBy.String(),
		HandedInAt: h.HandedInAt, Lines: lines}
}

// shortfallDTO is a pickup where the courier recorded less than was due.
type shortfallDTO struct {
	DossierID    string `json:"dossier_id"`
	DueVND       int64  `json:"due_vnd" example:"87000"`
	CollectedVND int64  `json:"collected_vnd" example:"50000"`
}

// cashDayDTO is a courier's takings of a day, which closing the day is counted against.
type cashDayDTO struct {
	CourierID   string           `json:"courier_id"`
	Date        string           `json:"date" format:"date" example:"2026-12-08"`
	TotalVND    int64            `json:"total_vnd" example:"174000"`
	ByMethod    map[string]int64 `json:"by_method" doc:"the total by payment method (cash, bank_transfer, qr)"`
	Items       []cashLineDTO    `json:"items"`
	ToHandInVND int64            `json:"to_hand_in_vnd" example:"87000" doc:"the cash among it, handed in at the counter"`
	DueVND      int64            `json:"due_vnd" sum:"true" example:"174000" doc:"the fees and postage of the day's pickups whose applicants chose to pay the courier"`
	Short       []shortfallDTO   `json:"short" doc:"the pickups where less was recorded than was due"`
	HandIns     []handInDTO      `json:"hand_ins" doc:"the day's cash received at the counter"`
	HandedInVND int64            `json:"handed_in_vnd" example:"85000" doc:"the cash counted at the counter, over the day's hand-ins"`
	// The cash lines no hand-in covers yet.
	StillToHandInVND int64 `json:"still_to_hand_in_vnd" example:"0" doc:"the cash lines no hand-in covers yet"`
}

// mountReports serves what couriers reported: per dossier for its dispatchers, and each
// courier's cash by day, which closing the day is counted against.
func mountReports(rt *router, reports *fieldsync.Reports, dossiers *dossier.Service, cat *catalog.Catalog, now func() time.Time) {
	rt.get("/dossiers/:key/field-reports", staff(auth.RoleAdmin, auth.RoleDispatcher), byID("dossier", func(c *fiber.Ctx, id uuid.UUID) error {
		// The dossier policy answers NOT_FOUND for dossiers of other offices.
		if _, _, err := dossiers.Get(c.UserContext(), id); err != nil {
			return err
		}
		list, err := reports.Of(c.UserContext(), id)
		if err != nil {
			return err
		}
		out := make([]fieldReportDTO, len(list))
		for i, r := range list {
			out[i] = fieldReportDTO{MutationID: r.MutationID.String(), TaskID: r.TaskID.String(), CourierID: r.CourierID.String(),
				DeviceID: r.DeviceID.String(), Type: r.Type, TaskVersion: r.TaskVersion, Payload: r.Payload, OccurredAt: r.OccurredAt,
				AccuracyM: r.AccuracyM, RecordedAt: r.RecordedAt}
			if r.Point != nil {
				out[i].Point = toPointDTO(*r.Point)
			}
		}
		return c.JSON(itemsBody[fieldReportDTO]{Items: out})
	})).doc("What couriers reported from the field about a dossier").answers(fiber.StatusOK, itemsBody[fieldReportDTO]{})
	rt.get("/couriers/:key/cash", staff(auth.RoleAdmin, auth.RoleDispatcher, auth.RoleCourier), byID("courier", func(c *fiber.Ctx, id uuid.UUID) error {
		var p domain.Problems
		day := queryDate(c, &p, "date")
		if err := p.Err(); err != nil {
			return err
		}
		if day.IsZero() {
			day = now().In(domain.Vietnam)
		}
		// The courier policy answers NOT_FOUND for couriers the caller may not see.
		if _, err := cat.Couriers.Get(c.UserContext(), id.String()); err != nil {
			return err
		}
		ledger, err := reports.Cash(c.UserContext(), id, day, domain.Vietnam)
		if err != nil {
			return err
		}
		lines := make([]cashLineDTO, len(ledger.Lines))
		for i, l := range ledger.Lines {
			lines[i] = cashLineDTO{MutationID: l.MutationID.String(), DossierID: l.DossierID.String(), TaskID: l.TaskID.String(),
				AmountVND: l.AmountVND, Method: l.Method, ReceiptNumber: l.ReceiptNumber, CollectedAt: l.CollectedAt, RecordedAt: l.RecordedAt}
			if l.HandInID != uuid.Nil {
				lines[i].HandInID = l.HandInID.String()
			}
		}
		handIns := make([]handInDTO, len(ledger.HandIns))
		for i, h := range ledger.HandIns {
			handIns[i] = toHandInDTO(h)
		}
		short := make([]shortfallDTO, len(ledger.Short))
		for i, s := range ledger.Short {
			short[i] = shortfallDTO{DossierID: s.DossierID.String(), DueVND: s.DueVND, CollectedVND: s.CollectedVND}
		}
		return answerRows(c, "cash-"+id.String()+"-"+ledger.Day.Format(time.DateOnly)+".csv", lines, func() error {
			return c.JSON(cashDayDTO{CourierID: id.String(), Date: ledger.Day.Format(time.DateOnly), TotalVND: ledger.TotalVND,
				ByMethod: ledger.ByMethod, Items: lines, ToHandInVND: ledger.ToHandInVND, DueVND: ledger.DueVND, Short: short,
				HandIns: handIns, HandedInVND: ledger.HandedInVND, StillToHandInVND: ledger.StillToHandInVND})
		})
	})).doc("A courier's takings of a day (today when no date is given)").
		params(dateParam("date", "the day; today in Vietnam when absent")).answers(fiber.StatusOK, cashDayDTO{}).alsoAnswers(mimeCSV)
	rt.post("/couriers/:key/cash/hand-ins", staff(auth.RoleAdmin, auth.RoleDispatcher), byID("courier", func(c *fiber.Ctx, id uuid.UUID) error {
		var body handInRequestBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		var p domain.Problems
		req := fieldsync.HandInRequest{Day: parseDate(&p, "date", body.Date), CountedVND: body.CountedVND, ToHandInVND: body.ToHandInVND}
		if err := p.Err(); err != nil {
			return err
		}
		// The courier policy answers NOT_FOUND for couriers of other offices.
		if _, err := cat.Couriers.Get(c.UserContext(), id.String()); err != nil {
			return err
		}
		h, err := reports.HandIn(c.UserContext(), id, req)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toHandInDTO(h))
	})).doc("Record a courier's cash of a day received at the counter: every cash line of the day not handed in yet, against the cash counted").
		takes(handInRequestBody{}).answers(fiber.StatusCreated, handInDTO{}).
		fails(fieldsync.CodeCashHandedIn, fieldsync.CodeNoCash, fieldsync.CodeCashChanged)
}

// slots admits a bounded number of requests at once; nil admits all.
type slots struct {
	free chan struct{}
	wait time.Duration
}

// shedRetryAfter is when a device told the server is busy should send again.
const shedRetryAfter = 2 * time.Second

func newSlots(n int) *slots {
	if n <= 0 {
		return nil
	}
	return &slots{free: make(chan struct{}, n), wait: time.Second}
}

// take waits up to a second for a slot; the answer is UNAVAILABLE with a Retry-After
// when none frees up, and nothing of the request has been done.
func (s *slots) take(ctx context.Context) (func(), error) {
	if s == nil {
		return func() {}, nil
	}
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case s.free <- struct{}{}:
		return func() { <-s.free }, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	e := domain.Errorf(domain.CodeUnavailable, "the server is busy; send the same batch again after Retry-After")
	e.RetryAfter = shedRetryAfter
	return nil, e
}
