package storage

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/dossier"
)

// DossierStore implements dossier.Store.
type DossierStore struct {
	db    *DB
	queue *Queue
}

// NewDossierStore writes dossiers, and their jobs through queue in the same transactions.
func NewDossierStore(db *DB, queue *Queue) *DossierStore { return &DossierStore{db: db, queue: queue} }

type dossierRow struct {
	ID                  uuid.UUID `gorm:"primaryKey"`
	ReceiptCode         string
	ProcedureID         uuid.UUID
	AgencyID            uuid.UUID
	PostOfficeID        uuid.UUID
	ApplicantName       string
	ApplicantPhone      string
	ApplicantPhoneIndex string
	CitizenIDSealed     string `gorm:"column:citizen_id_sealed"`
	CitizenIDIndex      string `gorm:"column:citizen_id_index"`
	CitizenIDTail       string `gorm:"column:citizen_id_tail"`
	ApplicantAddress    string
	AdminUnitCode       string
	Lon, Lat            float64
	Pickup              bool
	ReturnByPost        bool
	FeeVND              int64 `gorm:"column:fee_vnd"`
	PostageVND          int64 `gorm:"column:postage_vnd"`
	SurchargeVND        int64 `gorm:"column:surcharge_vnd"`
	PaymentMethod       string
	DeliveryChoice      string
	HandoverSealed      string
	HandoverExpiresAt   *time.Time
	HandoverFailures    int
	Channel             string
	PortalRef           string
	OutsideServiceArea  bool
	State               string
	Rejected            bool
	FailedAttempts      int
	HolderKind          string
	HolderID            uuid.UUID
	PickupDue           *time.Time `gorm:"type:date"`
	ReceivedAt          *time.Time
	AppointmentDate     *time.Time `gorm:"type:date"`
	ResultReadyAt       *time.Time
	DeliveryDue         *time.Time `gorm:"type:date"`
	HeldUntil           *time.Time `gorm:"type:date"`
	DeliveredAt         *time.Time
	NextDeadline        *time.Time `gorm:"type:date"`
	CustodyCount        int
	CustodyHead         string
	Version             int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (dossierRow) TableName() string { return "dossiers" }

func dossierToRow(d dossier.Dossier) dossierRow {
	a := d.Applicant
	return dossierRow{ID: d.ID, ReceiptCode: string(d.Receipt), ProcedureID: d.ProcedureID, AgencyID: d.AgencyID, PostOfficeID: d.PostOfficeID,
		ApplicantName: a.Name, ApplicantPhone: a.Phone, ApplicantPhoneIndex: a.PhoneIndex, CitizenIDTail: a.CitizenIDTail, ApplicantAddress: a.Address,
		AdminUnitCode: a.AdminUnitCode, Lon: a.Location.Lon(), Lat: a.Location.Lat(), Pickup: d.Pickup, ReturnByPost: d.Return,
		FeeVND: d.FeeVND, PostageVND: d.PostageVND, SurchargeVND: d.SurchargeVND, PaymentMethod: string(d.Payment), Channel: string(d.Channel), PortalRef: d.PortalRef,
		DeliveryChoice: string(d.DeliveryChoice), HandoverSealed: d.Handover.Sealed, HandoverExpiresAt: d.Handover.ExpiresAt, HandoverFailures: d.Handover.Failures,
		OutsideServiceArea: d.OutsideServiceArea, State: string(d.State), Rejected: d.Rejected, FailedAttempts: d.FailedAttempts,
		HolderKind: string(d.Holder.Kind), HolderID: d.Holder.ID, PickupDue: d.PickupDue, ReceivedAt: d.ReceivedAt,
		AppointmentDate: d.AppointmentDate, ResultReadyAt: d.ResultReadyAt, DeliveryDue: d.DeliveryDue, HeldUntil: d.HeldUntil,
		DeliveredAt: d.DeliveredAt, NextDeadline: d.NextDeadline(), CustodyCount: d.CustodyCount, CustodyHead: d.CustodyHead,
		Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

func (r dossierRow) toDomain() dossier.Dossier {
	return dossier.Dossier{ID: r.ID, Receipt: dossier.ReceiptCode(r.ReceiptCode), ProcedureID: r.ProcedureID, AgencyID: r.AgencyID,
		PostOfficeID: r.PostOfficeID,
		Applicant: dossier.Applicant{Name: r.ApplicantName, Phone: r.ApplicantPhone, PhoneIndex: r.ApplicantPhoneIndex, CitizenIDTail: r.CitizenIDTail,
			CitizenIDSealed: r.CitizenIDSealed,
			Address:         r.ApplicantAddress, AdminUnitCode: r.AdminUnitCode, Location: orb.Point{r.Lon, r.Lat}},
		Pickup: r.Pickup, Return: r.ReturnByPost, FeeVND: r.FeeVND, PostageVND: r.PostageVND, SurchargeVND: r.SurchargeVND,
		Payment: dossier.PaymentMethod(r.PaymentMethod), DeliveryChoice: dossier.DeliveryChoice(r.DeliveryChoice),
		Handover: dossier.Handover{Sealed: r.HandoverSealed, ExpiresAt: r.HandoverExpiresAt, Failures: r.HandoverFailures},
		Channel:  dossier.Channel(r.Channel), PortalRef: r.PortalRef, OutsideServiceArea: r.OutsideServiceArea, State: dossier.State(r.State),
		Rejected: r.Rejected, FailedAttempts: r.FailedAttempts, Holder: dossier.Party{Kind: dossier.PartyKind(r.HolderKind), ID: r.HolderID},
		Clock: dossier.Clock{PickupDue: r.PickupDue, ReceivedAt: r.ReceivedAt, AppointmentDate: r.AppointmentDate,
			ResultReadyAt: r.ResultReadyAt, DeliveryDue: r.DeliveryDue, HeldUntil: r.HeldUntil, DeliveredAt: r.DeliveredAt},
		CustodyCount: r.CustodyCount, CustodyHead: r.CustodyHead, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type taskRow struct {
	ID              uuid.UUID `gorm:"primaryKey"`
	DossierID       uuid.UUID
	PostOfficeID    uuid.UUID
	Kind            string
	State           string
	CourierID       *uuid.UUID
	ScheduledFor    *time.Time `gorm:"type:date"`
	SlotStartMin    *int
	SlotEndMin      *int
	RouteSeq        *int
	PlannedArrival  *time.Time
	RouteTrip       *int
	ReloadArrival   *time.Time
	ReloadDeparture *time.Time
	Attempts        int
	FailureReason   string
	Version         int
	UpdatedAt       time.Time
}

func (taskRow) TableName() string { return "tasks" }

func taskToRow(t dossier.Task) taskRow {
	row := taskRow{ID: t.ID, DossierID: t.DossierID, PostOfficeID: t.PostOfficeID, Kind: string(t.Kind), State: string(t.State),
		CourierID: nilUUID(t.CourierID), ScheduledFor: t.ScheduledFor, Attempts: t.Attempts, FailureReason: string(t.FailureReason),
		Version: t.Version, UpdatedAt: t.UpdatedAt.UTC(), RouteSeq: t.RouteSeq, PlannedArrival: t.PlannedArrival, RouteTrip: t.RouteTrip,
		ReloadArrival: t.ReloadArrival, ReloadDeparture: t.ReloadDeparture}
	if t.Slot != nil {
		row.SlotStartMin, row.SlotEndMin = &t.Slot.StartMin, &t.Slot.EndMin
	}
	return row
}

func (r taskRow) toDomain() dossier.Task {
	t := dossier.Task{ID: r.ID, DossierID: r.DossierID, PostOfficeID: r.PostOfficeID, Kind: dossier.TaskKind(r.Kind),
		State: dossier.TaskState(r.State), CourierID: derefUUID(r.CourierID), ScheduledFor: r.ScheduledFor, Attempts: r.Attempts,
		FailureReason: dossier.FailureReason(r.FailureReason), Version: r.Version, UpdatedAt: r.UpdatedAt, RouteSeq: r.RouteSeq,
		PlannedArrival: r.PlannedArrival, RouteTrip: r.RouteTrip, ReloadArrival: r.ReloadArrival, ReloadDeparture: r.ReloadDeparture}
	if r.SlotStartMin != nil && r.SlotEndMin != nil {
		t.Slot = &dossier.Slot{StartMin: *r.SlotStartMin, EndMin: *r.SlotEndMin}
	}
	return t
}

type eventRow struct {
	ID        int64 `gorm:"primaryKey;->"`
	DossierID uuid.UUID
	At        time.Time
	Event     string
	FromState string
	ToState   string
	ActorRole string
	Note      string
}

func (eventRow) TableName() string { return "dossier_events" }

type custodyRow struct {
	DossierID       uuid.UUID `gorm:"primaryKey"`
	Seq             int       `gorm:"primaryKey"`
	Item            string
	FromKind        string
	FromID          uuid.UUID
	ToKind          string
	ToID            uuid.UUID
	Event           string
	Lon, Lat        *float64
	AccuracyM       float64
	DeviceTime      *time.Time
	ServerTime      time.Time
	SignatureSHA256 string `gorm:"column:signature_sha256"`
	PhotoSHA256     string `gorm:"column:photo_sha256"`
	SealNumber      string
	ManifestID      uuid.UUID
	RecipientName   string
	IdentityMethod  string
	ActorID         uuid.UUID
	PrevHash        string
	Hash            string
}

func (custodyRow) TableName() string { return "custody_entries" }

func custodyToRow(e dossier.CustodyEntry) custodyRow {
	r := custodyRow{DossierID: e.DossierID, Seq: e.Seq, Item: e.Item, FromKind: string(e.From.Kind), FromID: e.From.ID,
		ToKind: string(e.To.Kind), ToID: e.To.ID, Event: string(e.Event), AccuracyM: e.AccuracyM, DeviceTime: e.DeviceTime,
		ServerTime: e.ServerTime.UTC(), SignatureSHA256: e.Proof.SignatureSHA256, PhotoSHA256: e.Proof.PhotoSHA256,
		SealNumber: e.Proof.SealNumber, ManifestID: e.Proof.ManifestID, RecipientName: e.Proof.RecipientName,
		IdentityMethod: e.Proof.IdentityMethod, ActorID: e.ActorID, PrevHash: e.PrevHash, Hash: e.Hash}
	if e.Point != nil {
		lon, lat := e.Point.Lon(), e.Point.Lat()
		r.Lon, r.Lat = &lon, &lat
	}
	return r
}

func (r custodyRow) toDomain() dossier.CustodyEntry {
	e := dossier.CustodyEntry{DossierID: r.DossierID, Seq: r.Seq, Item: r.Item,
		From: dossier.Party{Kind: dossier.PartyKind(r.FromKind), ID: r.FromID}, To: dossier.Party{Kind: dossier.PartyKind(r.ToKind), ID: r.ToID},
		Event: dossier.Event(r.Event), AccuracyM: r.AccuracyM, DeviceTime: r.DeviceTime, ServerTime: r.ServerTime,
		Proof: dossier.Proof{SignatureSHA256: r.SignatureSHA256, PhotoSHA256: r.PhotoSHA256, SealNumber: r.SealNumber,
			ManifestID: r.ManifestID, RecipientName: r.RecipientName, IdentityMethod: r.IdentityMethod},
		ActorID: r.ActorID, PrevHash: r.PrevHash, Hash: r.Hash}
	if r.Lon != nil && r.Lat != nil {
		e.Point = &orb.Point{*r.Lon, *r.Lat}
	}
	return e
}

func recordToRow(e dossier.EventRecord) eventRow {
	return eventRow{DossierID: e.DossierID, At: e.At.UTC(), Event: string(e.Event), FromState: string(e.From), ToState: string(e.To),
		ActorRole: e.ActorRole, Note: e.Note}
}

func (s *DossierStore) Create(ctx context.Context, d dossier.Dossier, sealed dossier.Sealed, tasks []dossier.Task, custody *dossier.CustodyEntry,
	record dossier.EventRecord, entry audit.Entry) error {
	row := dossierToRow(d)
	row.CitizenIDSealed, row.CitizenIDIndex = sealed.CitizenID, sealed.CitizenIDIndex
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for _, t := range tasks {
			tr := taskToRow(t)
			if err := tx.Create(&tr).Error; err != nil {
				return err
			}
		}
		if custody != nil {
			cr := custodyToRow(*custody)
			if err := tx.Create(&cr).Error; err != nil {
				return err
			}
		}
		ev := recordToRow(record)
		return tx.Omit("ID").Create(&ev).Error
	}, entry), "dossier")
}

func load(tx *gorm.DB, where string, arg any, lock bool) (dossier.Dossier, []dossier.Task, error) {
	q := tx
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var row dossierRow
	if err := q.Where(where, arg).Take(&row).Error; err != nil {
		return dossier.Dossier{}, nil, translate(notFoundOnBadKey(err), "dossier")
	}
	var taskRows []taskRow
	if err := tx.Where("dossier_id = ?", row.ID).Order("kind").Find(&taskRows).Error; err != nil {
		return dossier.Dossier{}, nil, translate(err, "task")
	}
	tasks := make([]dossier.Task, len(taskRows))
	for i, t := range taskRows {
		tasks[i] = t.toDomain()
	}
	return row.toDomain(), tasks, nil
}

func (s *DossierStore) Get(ctx context.Context, id uuid.UUID) (dossier.Dossier, []dossier.Task, error) {
	return load(s.db.gorm.WithContext(ctx), "id = ?", id, false)
}

func (s *DossierStore) GetByReceipt(ctx context.Context, code dossier.ReceiptCode) (dossier.Dossier, []dossier.Task, error) {
	return load(s.db.gorm.WithContext(ctx), "receipt_code = ?", string(code), false)
}

func (s *DossierStore) List(ctx context.Context, f dossier.Filter, page domain.Page) (domain.List[dossier.Dossier], error) {
	q := s.db.gorm.WithContext(ctx).Model(&dossierRow{})
	q = whereSet(whereSet(q, "state", string(f.State)), "agency_id", f.AgencyID)
	q = whereIn(whereSet(q, "receipt_code", string(f.Receipt)), "post_office_id", f.PostOfficeIDs)
	q = whereSet(whereSet(q, "applicant_phone_index", f.PhoneIndex), "portal_ref", f.PortalRef)
	if f.CourierID != uuid.Nil {
		q = q.Where("(holder_kind = ? AND holder_id = ?) OR id IN (SELECT dossier_id FROM tasks WHERE courier_id = ?)", string(dossier.PartyCourier), f.CourierID, f.CourierID)
	}
	if f.Holder != nil {
		q = q.Where("holder_kind = ? AND holder_id = ?", string(f.Holder.Kind), f.Holder.ID)
	}
	if f.DeadlineNotNil {
		q = q.Where("next_deadline IS NOT NULL")
	}
	if !f.DeadlineFrom.IsZero() {
		q = q.Where("next_deadline >= ?", f.DeadlineFrom)
	}
	if !f.DeadlineTo.IsZero() {
		q = q.Where("next_deadline <= ?", f.DeadlineTo)
	}
	return pageOf(q, "next_deadline NULLS LAST, created_at, id", page, "dossier", infallible(dossierRow.toDomain))
}

// Begin starts a transaction on dossiers.
func (s *DossierStore) Begin(ctx context.Context) (dossier.Tx, error) {
	return s.db.begin(ctx, s.queue)
}

// Lock implements dossier.Writer.
func (t *Tx) Lock(ctx context.Context, id uuid.UUID) (dossier.Dossier, []dossier.Task, error) {
	if h, ok := t.held[id]; ok {
		return h.dossier, slices.Clone(h.tasks), nil
	}
	d, tasks, err := load(t.tx.WithContext(ctx), "id = ?", id, true)
	if err == nil {
		t.hold(d, tasks)
	}
	return d, tasks, err
}

// hold keeps what Lock read: the tasks as the database has them, and, in a deferred
// transaction, the dossier as the changes to come will find it. The caller's decision
// may change the slice it is given.
func (t *Tx) hold(d dossier.Dossier, tasks []dossier.Task) {
	t.loaded[d.ID] = slices.Clone(tasks)
	if t.deferred {
		t.held[d.ID] = heldDossier{dossier: d, tasks: slices.Clone(tasks)}
	}
}

// LockDossiers locks the dossiers of ids not locked yet, in id order, and reads them with
// their tasks, in two statements: a push locks its batch's dossiers at once, where one
// by one they would cost two round trips each. Ids of no dossier are left out.
func (t *Tx) LockDossiers(ctx context.Context, ids []uuid.UUID) error {
	var missing [][16]byte
	for _, id := range ids {
		if _, held := t.held[id]; !held {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	held, err := loadMany(t.tx.WithContext(ctx), missing, true)
	for _, d := range held {
		t.hold(d.Dossier, d.Tasks)
	}
	return err
}

// GetMany implements dossier.Store.
func (s *DossierStore) GetMany(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]dossier.Snapshot, error) {
	keys := make([][16]byte, len(ids))
	for i, id := range ids {
		keys[i] = id
	}
	return loadMany(s.db.gorm.WithContext(ctx), keys, false)
}

// loadMany reads the dossiers of ids with their tasks, in two statements; lock locks the
// dossiers' rows, in id order.
func loadMany(tx *gorm.DB, ids [][16]byte, lock bool) (map[uuid.UUID]dossier.Snapshot, error) {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b [16]byte) int { return slices.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	var rows []dossierRow
	columns, table, err := columnsOf(tx, &rows, "")
	if err != nil {
		return nil, err
	}
	forUpdate := ""
	if lock {
		forUpdate = " FOR UPDATE"
	}
	if err := tx.Raw(`SELECT `+columns+` FROM `+table+` WHERE id = ANY($1) ORDER BY id`+forUpdate, ids).Scan(&rows).Error; err != nil {
		return nil, translate(err, "dossier")
	}
	var taskRows []taskRow
	if columns, table, err = columnsOf(tx, &taskRows, ""); err != nil {
		return nil, err
	}
	if err := tx.Raw(`SELECT `+columns+` FROM `+table+` WHERE dossier_id = ANY($1) ORDER BY kind`, ids).Scan(&taskRows).Error; err != nil {
		return nil, translate(err, "task")
	}
	out := make(map[uuid.UUID]dossier.Snapshot, len(rows))
	for _, r := range rows {
		out[r.ID] = dossier.Snapshot{Dossier: r.toDomain()}
	}
	for _, r := range taskRows {
		if d, ok := out[r.DossierID]; ok {
			d.Tasks = append(d.Tasks, r.toDomain())
			out[r.DossierID] = d
		}
	}
	return out, nil
}

// CountMiss implements dossier.Tx.
func (t *Tx) CountMiss(ctx context.Context, id uuid.UUID, sealed, guess string) error {
	return translate(t.tx.WithContext(ctx).Exec(`WITH miss AS (
			INSERT INTO handover_misses (dossier_id, sealed, guess) VALUES (@id, @sealed, @guess) ON CONFLICT DO NOTHING RETURNING 1)
		UPDATE dossiers SET handover_failures = handover_failures + (SELECT count(*) FROM miss) WHERE id = @id`,
		map[string]any{"id": id, "sealed": sealed, "guess": guess}).Error, "dossier")
}

// claimSlot takes a place in a post office's slot for a stop, inside the stop's
// transaction: the slot's row is locked while its live stops are counted, so two
// applicants cannot both take its last place.
func claimSlot(tx *gorm.DB, c dossier.SlotClaim) error {
	var capacity int
	err := tx.Raw(`SELECT capacity FROM post_office_slots WHERE post_office_id = ? AND start_min = ? AND end_min = ? FOR UPDATE`,
		c.PostOfficeID, c.Slot.StartMin, c.Slot.EndMin).Scan(&capacity).Error
	if err != nil {
		return err
	}
	if capacity == 0 {
		return domain.Invalid("slot", "is not a slot this post office offers")
	}
	var taken int64
	err = tx.Raw(`SELECT count(*) FROM tasks WHERE post_office_id = ? AND scheduled_for = ? AND slot_start_min = ?
		AND state IN `+liveStates+` AND id <> ?`,
		c.PostOfficeID, c.Date, c.Slot.StartMin, c.TaskID).Scan(&taken).Error
	if err != nil {
		return err
	}
	if taken >= int64(capacity) {
		return domain.Errorf(dossier.CodeSlotFull, "the slot %s on %s is full; choose another", c.Slot, c.Date.Format(time.DateOnly))
	}
	return nil
}

func (s *DossierStore) Tasks(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]dossier.Task, error) {
	// Each id once, as one array ($1, which gorm passes as it is): a batch names the same
	// few stops many times, and one statement text whatever the count is planned once per
	// connection.
	distinct := make([][16]byte, 0, len(ids))
	seen := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			distinct = append(distinct, id)
		}
	}
	var rows []taskRow
	if err := findByIDs(s.db.gorm.WithContext(ctx), distinct, &rows); err != nil {
		return nil, translate(err, "task")
	}
	out := make(map[uuid.UUID]dossier.Task, len(rows))
	for _, r := range rows {
		out[r.ID] = r.toDomain()
	}
	return out, nil
}

func (s *DossierStore) Task(ctx context.Context, id uuid.UUID) (dossier.Task, error) {
	var row taskRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return dossier.Task{}, translate(notFoundOnBadKey(err), "task")
	}
	return row.toDomain(), nil
}

// Apply implements dossier.Writer. Where the transaction goes on after a refusal (a
// push's), the change is taken behind a savepoint, so that one refused halfway leaves

// Apply implements dossier.Writer. A deferred transaction (a push's) holds the change
// until Commit; another writes it at once.
func (t *Tx) Apply(ctx context.Context, change dossier.Change) (dossier.Dossier, error) {
	tx := t.tx.WithContext(ctx)
	if c := change.SlotClaim; c != nil {
		// Judged on what the database holds: a held change claims no slot (no field fact
		// books one).
		if err := claimSlot(tx, *c); err != nil {
			return dossier.Dossier{}, translate(err, "dossier")
		}
	}
	if t.deferred {
		id := change.Dossier.ID
		t.held[id] = heldDossier{dossier: change.Dossier, tasks: withTasks(t.held[id].tasks, change.Tasks)}
		t.pending = append(t.pending, change)
	} else if err := t.writeChanges(tx, []dossier.Change{change}); err != nil {
		return dossier.Dossier{}, translate(err, "dossier")
	}
	clear(t.locked) // the change may have moved a stop the push holds
	t.jobs = append(t.jobs, change.Jobs...)
	return change.Dossier, nil
}

var (
	// The sealed citizen ID never changes after creation: those columns are left be.
	updateDossiers = newUnnestUpdate("dossiers", "id", rowColumns[dossierRow]("citizen_id_sealed", "citizen_id_index", "created_at")...)
	upsertTasks    = newUnnestUpsert("tasks", "id", rowColumns[taskRow]()...)
	insertCustody  = newUnnestInsert("custody_entries", rowColumns[custodyRow]()...)
	insertEvents   = newUnnestInsert("dossier_events", rowColumns[eventRow]()...)
)

// writeChanges writes dossier changes, in their order, inside tx, one statement per
// table whatever their number: the dossiers and their tasks as the last change left them
// (tasks as the database has them are not written), the custody entries, the history
// lines, the feed, the flags and the audit entries. Their jobs are the caller's to insert.
func (t *Tx) writeChanges(tx *gorm.DB, changes []dossier.Change) error {
	if len(changes) == 0 {
		return nil
	}
	var dossiers []dossierRow
	var tasks []taskRow
	var custody []custodyRow
	var events []eventRow
	var flags []dossier.Flag
	var entries []audit.Entry
	var receivers []uuid.UUID
	at := map[uuid.UUID]int{} // a dossier's place in dossiers
	final := map[uuid.UUID][]dossier.Task{}
	for _, c := range changes {
		if i, seen := at[c.Dossier.ID]; seen {
			dossiers[i] = dossierToRow(c.Dossier)
		} else {
			at[c.Dossier.ID] = len(dossiers)
			dossiers = append(dossiers, dossierToRow(c.Dossier))
			final[c.Dossier.ID] = t.loaded[c.Dossier.ID]
		}
		final[c.Dossier.ID] = withTasks(final[c.Dossier.ID], c.Tasks)
		for _, e := range c.Custody {
			if e.To.Kind == dossier.PartyCourier {
				receivers = append(receivers, e.To.ID)
			}
			custody = append(custody, custodyToRow(e))
		}
		events = append(events, recordToRow(c.Record))
		flags = append(flags, c.Flags...)
		entries = append(entries, c.Audit)
	}
	for _, row := range dossiers {
		for _, task := range final[row.ID] {
			if !slices.ContainsFunc(t.loaded[row.ID], func(b dossier.Task) bool { return reflect.DeepEqual(b, task) }) {
				tasks = append(tasks, taskToRow(task))
			}
		}
	}
	for _, write := range []func() error{
		// A courier whose day is being closed takes nothing until the close is done.
		func() error { return lockCouriers(tx, receivers) },
		func() error { return updateDossiers.exec(tx, dossiers) },
		func() error { return upsertTasks.exec(tx, tasks) },
		func() error { return insertCustody.exec(tx, custody) },
		func() error { return insertEvents.exec(tx, events) },
		func() error { return writeFeed(tx, changes) },
		func() error { return writeFlags(tx, flags) },
		func() error { return writeAudit(tx, entries...) },
	} {
		if err := write(); err != nil {
			return err
		}
	}
	for id, tasks := range final {
		t.loaded[id] = tasks
	}
	return nil
}

// lockCouriers share-locks the couriers' rows in id order, so that two transactions
// taking the same couriers take them in the same order.
func lockCouriers(tx *gorm.DB, couriers []uuid.UUID) error {
	if len(couriers) == 0 {
		return nil
	}
	ids := make([][16]byte, len(couriers))
	for i, c := range couriers {
		ids[i] = c
	}
	slices.SortFunc(ids, func(a, b [16]byte) int { return slices.Compare(a[:], b[:]) })
	return tx.Exec(`SELECT 1 FROM couriers WHERE id = ANY($1) ORDER BY id FOR SHARE`, slices.Compact(ids)).Error
}

func (s *DossierStore) SealedValues(ctx context.Context, after uuid.UUID, limit int) ([]dossier.SealedValues, error) {
	var rows []struct {
		ID             uuid.UUID
		CitizenID      string `gorm:"column:citizen_id_sealed"`
		HandoverSealed string
	}
	if err := s.db.gorm.WithContext(ctx).Raw(`SELECT id, citizen_id_sealed, handover_sealed FROM dossiers WHERE id > ? ORDER BY id LIMIT ?`, after, limit).
		Scan(&rows).Error; err != nil {
		return nil, translate(err, "dossier")
	}
	page := make([]dossier.SealedValues, len(rows))
	for i, r := range rows {
		page[i] = dossier.SealedValues{ID: r.ID, CitizenID: r.CitizenID, Door: r.HandoverSealed}
	}
	return page, nil
}

// WriteSealed implements dossier.Tx.
func (t *Tx) WriteSealed(ctx context.Context, was, now dossier.SealedValues) error {
	tx := t.tx.WithContext(ctx)
	// Missed door-code guesses are counted per trip, under its sealed code.
	if err := tx.Exec(`UPDATE handover_misses SET sealed = ? WHERE dossier_id = ? AND sealed = ?`, now.Door, was.ID, was.Door).Error; err != nil {
		return translate(err, "dossier")
	}
	return translate(tx.Exec(`UPDATE dossiers SET citizen_id_sealed = ?, handover_sealed = ? WHERE id = ?`, now.CitizenID, now.Door, was.ID).Error, "dossier")
}

func (s *DossierStore) Custody(ctx context.Context, id uuid.UUID) ([]dossier.CustodyEntry, error) {
	var rows []custodyRow
	if err := s.db.gorm.WithContext(ctx).Where("dossier_id = ?", id).Order("seq").Find(&rows).Error; err != nil {
		return nil, translate(err, "custody entry")
	}
	out := make([]dossier.CustodyEntry, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

func (s *DossierStore) History(ctx context.Context, id uuid.UUID) ([]dossier.EventRecord, error) {
	var rows []eventRow
	if err := s.db.gorm.WithContext(ctx).Where("dossier_id = ?", id).Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "dossier event")
	}
	out := make([]dossier.EventRecord, len(rows))
	for i, r := range rows {
		out[i] = dossier.EventRecord{DossierID: r.DossierID, At: r.At, Event: dossier.Event(r.Event), From: dossier.State(r.FromState),
			To: dossier.State(r.ToState), ActorRole: r.ActorRole, Note: r.Note}
	}
	return out, nil
}

func (s *DossierStore) ListTasks(ctx context.Context, f dossier.TaskFilter, page domain.Page) (domain.List[dossier.Task], error) {
	q := whereSet(whereSet(s.db.gorm.WithContext(ctx).Model(&taskRow{}), "kind", string(f.Kind)), "state", string(f.State))
	q = whereIn(whereSet(q, "courier_id", f.CourierID), "post_office_id", f.PostOfficeIDs)
	if !f.ScheduledFor.IsZero() {
		q = q.Where("scheduled_for = ?", f.ScheduledFor)
	}
	return pageOf(q, "scheduled_for NULLS LAST, updated_at, id", page, "task", infallible(taskRow.toDomain))
}

// HasDossier reports whether the dossier with receiptCode was filed with phone (both in
// their normalized forms); it implements auth.CitizenDirectory.
func (s *DossierStore) HasDossier(ctx context.Context, receiptCode, phone string) (bool, error) {
	var n int64
	err := s.db.gorm.WithContext(ctx).Model(&dossierRow{}).Where("receipt_code = ? AND applicant_phone = ?", receiptCode, phone).Count(&n).Error
	return n > 0, translate(err, "dossier")
}
