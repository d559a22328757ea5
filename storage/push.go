package storage

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"gorm.io/gorm"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
	"courierd/domain/live"
)

// PushStore implements fieldsync.PushStore and the quarantine's, reports' and cash
// ledger's stores.
type PushStore struct {
	db    *DB
	queue *Queue
}

// NewPushStore keeps pushes, and the jobs of the dossier changes they make through queue.
func NewPushStore(db *DB, queue *Queue) *PushStore {
	return &PushStore{db: db, queue: queue}
}

type syncDeviceRow struct {
	DeviceID      uuid.UUID `gorm:"primaryKey"`
	CourierID     uuid.UUID
	LastSeq       int64
	PrunedThrough int64 `gorm:"->"` // written only by PruneSync
}

func (syncDeviceRow) TableName() string { return "sync_devices" }

type syncMutationRow struct {
	DeviceID    uuid.UUID `gorm:"primaryKey"`
	Seq         int64     `gorm:"primaryKey"`
	ID          uuid.UUID
	Type        string
	RequestHash string
	Status      string
	Code        string
	Detail      string
	// Fields are the outcome's fields at fault, [{"field":…,"reason":…}].
	Fields    []byte `gorm:"type:jsonb"`
	AppliedAt time.Time
}

func (syncMutationRow) TableName() string { return "sync_mutations" }

var insertOutcomes = newUnnestInsert("sync_mutations",
	column("device_id", "uuid", func(r *syncMutationRow) [16]byte { return r.DeviceID }),
	column("seq", "bigint", func(r *syncMutationRow) int64 { return r.Seq }),
	column("id", "uuid", func(r *syncMutationRow) [16]byte { return r.ID }),
	column("type", "text", func(r *syncMutationRow) string { return r.Type }),
	column("request_hash", "text", func(r *syncMutationRow) string { return r.RequestHash }),
	column("status", "text", func(r *syncMutationRow) string { return r.Status }),
	column("code", "text", func(r *syncMutationRow) string { return r.Code }),
	column("detail", "text", func(r *syncMutationRow) string { return r.Detail }),
	column("fields", "jsonb", func(r *syncMutationRow) []byte { return r.Fields }),
	column("applied_at", "timestamptz", func(r *syncMutationRow) time.Time { return r.AppliedAt }))

type quarantineRow struct {
	MutationID uuid.UUID `gorm:"primaryKey"`
	DeviceID   uuid.UUID
	CourierID  uuid.UUID
	TaskID     *uuid.UUID
	Type       string
	Code       string
	Payload    []byte `gorm:"type:jsonb"`
	CreatedAt  time.Time
	ResolvedAt *time.Time
	ResolvedBy *uuid.UUID
	Resolution string
}

func (quarantineRow) TableName() string { return "sync_quarantine" }

// insertQuarantined leaves resolved_at, resolved_by and resolution to their defaults
// (null, null, empty): a new item is open.
var insertQuarantined = newUnnestInsert("sync_quarantine",
	column("mutation_id", "uuid", func(r *quarantineRow) [16]byte { return r.MutationID }),
	column("device_id", "uuid", func(r *quarantineRow) [16]byte { return r.DeviceID }),
	column("courier_id", "uuid", func(r *quarantineRow) [16]byte { return r.CourierID }),
	column("task_id", "uuid", func(r *quarantineRow) *[16]byte { return (*[16]byte)(r.TaskID) }),
	column("type", "text", func(r *quarantineRow) string { return r.Type }),
	column("code", "text", func(r *quarantineRow) string { return r.Code }),
	column("payload", "jsonb", func(r *quarantineRow) []byte { return r.Payload }),
	column("created_at", "timestamptz", func(r *quarantineRow) time.Time { return r.CreatedAt }))

// Begin starts a push's transaction. The push goes on after a refused mutation, so its
// dossier changes are held and written together at Commit (see Tx.Apply).
func (s *PushStore) Begin(ctx context.Context) (fieldsync.PushTx, error) {
	tx, err := s.db.begin(ctx, s.queue)
	if err != nil {
		return nil, err
	}
	tx.deferred = true
	return tx, nil
}

// LockDevice implements fieldsync.PushTx in one statement: it creates the row when
// missing, or else locks it (the update changes nothing: courier_id stays the first
// courier's), and reads it.
func (t *Tx) LockDevice(ctx context.Context, device, courier uuid.UUID) (lastSeq, prunedThrough int64, err error) {
	err = t.tx.WithContext(ctx).Raw(`INSERT INTO sync_devices (device_id, courier_id) VALUES (?, ?)
		ON CONFLICT (device_id) DO UPDATE SET last_seq = sync_devices.last_seq
		RETURNING last_seq, pruned_through`, device, courier).Row().Scan(&lastSeq, &prunedThrough)
	return lastSeq, prunedThrough, translate(err, "sync batch")
}

// Outcomes implements fieldsync.PushTx. $n, not ?: gorm would spread seqs into a list, a
// new statement text for each batch size.
func (t *Tx) Outcomes(ctx context.Context, device uuid.UUID, seqs []int64) (map[int64]fieldsync.Stored, error) {
	var rows []syncMutationRow
	if err := t.tx.WithContext(ctx).Raw(`SELECT seq, id, request_hash, status, code, detail, fields FROM sync_mutations WHERE device_id = $1 AND seq = ANY($2)`,
		device, seqs).Scan(&rows).Error; err != nil {
		return nil, translate(err, "sync batch")
	}
	stored := make(map[int64]fieldsync.Stored, len(rows))
	for _, r := range rows {
		stored[r.Seq] = fieldsync.Stored{Seq: r.Seq, ID: r.ID, Hash: r.RequestHash, Status: r.Status, Code: domain.Code(r.Code), Detail: r.Detail,
			Fields: fieldErrorsOf(r.Fields)}
	}
	return stored, nil
}

// Taken implements fieldsync.PushTx.
func (t *Tx) Taken(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	var kept []uuid.UUID
	if err := t.tx.WithContext(ctx).Raw(`SELECT id FROM sync_mutations WHERE id = ANY($1)`, ids).Scan(&kept).Error; err != nil {
		return nil, translate(err, "sync batch")
	}
	taken := make(map[uuid.UUID]bool, len(kept))
	for _, id := range kept {
		taken[id] = true
	}
	return taken, nil
}

// Task implements fieldsync.PushTx: the stop as its held dossier has it, or else the
// dossier's lock and the stop in one statement.
func (t *Tx) Task(ctx context.Context, id uuid.UUID) (dossier.Task, error) {
	for _, h := range t.held {
		if i := slices.IndexFunc(h.tasks, func(task dossier.Task) bool { return task.ID == id }); i >= 0 {
			return h.tasks[i], nil
		}
	}
	if task, ok := t.locked[id]; ok {
		return task, nil
	}
	var rows []taskRow
	columns, _, err := columnsOf(t.tx, &rows, "t")
	if err != nil {
		return dossier.Task{}, err
	}
	err = t.tx.WithContext(ctx).Raw(`SELECT `+columns+` FROM tasks t JOIN dossiers d ON d.id = t.dossier_id WHERE t.id = ? FOR UPDATE OF d`, id).
		Scan(&rows).Error
	if err != nil {
		return dossier.Task{}, translate(notFoundOnBadKey(err), "task")
	}
	if len(rows) == 0 {
		return dossier.Task{}, domain.Errorf(domain.CodeNotFound, "no such task")
	}
	task := rows[0].toDomain()
	t.locked[id] = task
	return task, nil
}

// fieldReportRow is an applied mutation as the device sent it.
type fieldReportRow struct {
	MutationID  uuid.UUID `gorm:"primaryKey"`
	DossierID   uuid.UUID
	TaskID      uuid.UUID
	CourierID   uuid.UUID
	DeviceID    uuid.UUID
	Seq         int64
	Type        string
	TaskVersion *int
	Payload     []byte `gorm:"type:jsonb"`
	OccurredAt  time.Time
	Lat, Lon    *float64
	AccuracyM   *float64
	RecordedAt  time.Time
}

func (fieldReportRow) TableName() string { return "field_reports" }

var insertReports = newUnnestInsert("field_reports",
	column("mutation_id", "uuid", func(r *fieldReportRow) [16]byte { return r.MutationID }),
	column("dossier_id", "uuid", func(r *fieldReportRow) [16]byte { return r.DossierID }),
	column("task_id", "uuid", func(r *fieldReportRow) [16]byte { return r.TaskID }),
	column("courier_id", "uuid", func(r *fieldReportRow) [16]byte { return r.CourierID }),
	column("device_id", "uuid", func(r *fieldReportRow) [16]byte { return r.DeviceID }),
	column("seq", "bigint", func(r *fieldReportRow) int64 { return r.Seq }),
	column("type", "text", func(r *fieldReportRow) string { return r.Type }),
	column("task_version", "integer", func(r *fieldReportRow) *int { return r.TaskVersion }),
	column("payload", "jsonb", func(r *fieldReportRow) []byte { return r.Payload }),
	column("occurred_at", "timestamptz", func(r *fieldReportRow) time.Time { return r.OccurredAt }),
	column("lat", "float8", func(r *fieldReportRow) *float64 { return r.Lat }),
	column("lon", "float8", func(r *fieldReportRow) *float64 { return r.Lon }),
	column("accuracy_m", "real", func(r *fieldReportRow) *float64 { return r.AccuracyM }),
	column("recorded_at", "timestamptz", func(r *fieldReportRow) time.Time { return r.RecordedAt }))

type cashRow struct {
	MutationID    uuid.UUID `gorm:"primaryKey"`
	DossierID     uuid.UUID
	TaskID        uuid.UUID
	CourierID     uuid.UUID
	AmountVND     int64 `gorm:"column:amount_vnd"`
	Method        string
	ReceiptNumber string
	CollectedAt   time.Time
	RecordedAt    time.Time
}

func (cashRow) TableName() string { return "cash_collections" }

var insertCash = newUnnestInsert("cash_collections",
	column("mutation_id", "uuid", func(r *cashRow) [16]byte { return r.MutationID }),
	column("dossier_id", "uuid", func(r *cashRow) [16]byte { return r.DossierID }),
	column("task_id", "uuid", func(r *cashRow) [16]byte { return r.TaskID }),
	column("courier_id", "uuid", func(r *cashRow) [16]byte { return r.CourierID }),
	column("amount_vnd", "bigint", func(r *cashRow) int64 { return r.AmountVND }),
	column("method", "text", func(r *cashRow) string { return r.Method }),
	column("receipt_number", "text", func(r *cashRow) string { return r.ReceiptNumber }),
	column("collected_at", "timestamptz", func(r *cashRow) time.Time { return r.CollectedAt }),
	column("recorded_at", "timestamptz", func(r *cashRow) time.Time { return r.RecordedAt }))

// reportOf is what an applied mutation leaves: its report (the payload with its dossier),
// and the money taken, for the cash ledger.
func reportOf(device, courier uuid.UUID, a fieldsync.Applied, now time.Time) (fieldReportRow, *cashRow) {
	m := a.Mutation
	report := fieldReportRow{MutationID: m.ID, DossierID: a.DossierID, TaskID: m.TaskID, CourierID: courier, DeviceID: device,
		Seq: m.Seq, Type: m.Type, Payload: orEmptyObject(m.Payload), OccurredAt: m.OccurredAt.UTC(), RecordedAt: now}
	if m.TaskVersion > 0 {
		report.TaskVersion = &m.TaskVersion
	}
	if m.Point != nil {
		lat, lon, acc := m.Point.Lat(), m.Point.Lon(), m.AccuracyM
		report.Lat, report.Lon, report.AccuracyM = &lat, &lon, &acc
	}
	if a.Cash == nil {
		return report, nil
	}
	return report, &cashRow{MutationID: m.ID, DossierID: a.DossierID, TaskID: m.TaskID, CourierID: courier, AmountVND: a.Cash.AmountVND,
		Method: a.Cash.Method, ReceiptNumber: a.Cash.ReceiptNumber, CollectedAt: m.OccurredAt.UTC(), RecordedAt: now}
}

func orEmptyObject(raw []byte) []byte {
	if len(raw) == 0 {
		return []byte("{}")
	}
	return raw
}

// Record implements fieldsync.PushTx, table by table, one statement each: a round trip
// per row would cost more than the rows.
func (t *Tx) Record(ctx context.Context, device, courier uuid.UUID, batch []fieldsync.Applied, lastSeq int64) error {
	if len(batch) == 0 {
		return nil // nothing new applied: last_seq already says so
	}
	now := t.db.stamp()
	var outcomes []syncMutationRow
	var quarantined []quarantineRow
	var reports []fieldReportRow
	var cash []cashRow
	for _, a := range batch {
		m := a.Mutation
		outcomes = append(outcomes, syncMutationRow{DeviceID: device, Seq: m.Seq, ID: m.ID, Type: m.Type, RequestHash: m.Hash,
			Status: a.Outcome.Status, Code: string(a.Outcome.Code), Detail: a.Outcome.Detail, Fields: fieldErrorsJSON(a.Outcome.Fields), AppliedAt: now})
		if a.Quarantine {
			quarantined = append(quarantined, quarantineRow{MutationID: m.ID, DeviceID: device, CourierID: courier, TaskID: nilUUID(m.TaskID),
				Type: m.Type, Code: string(a.Outcome.Code), Payload: orEmptyObject(m.Payload), CreatedAt: now})
		}
		if a.Outcome.Status == "applied" {
			report, money := reportOf(device, courier, a, now)
			reports = append(reports, report)
			if money != nil {
				cash = append(cash, *money)
			}
		}
	}
	tx := t.tx.WithContext(ctx)
	for _, write := range []func() error{
		func() error { return insertOutcomes.exec(tx, outcomes) },
		func() error { return insertQuarantined.exec(tx, quarantined) },
		func() error { return insertReports.exec(tx, reports) },
		func() error { return insertCash.exec(tx, cash) },
		func() error { return announce(tx, courier, quarantined, reports) },
		func() error {
			return tx.Model(&syncDeviceRow{}).Where("device_id = ?", device).Update("last_seq", lastSeq).Error
		},
	} {
		if err := write(); err != nil {
			return translate(err, "sync batch")
		}
	}
	return nil
}

// announce tells the dispatchers' open screens, at commit, of the batch's quarantined facts
// (ids and code, never the payload) and of the stops it finished or failed.
func announce(tx *gorm.DB, courier uuid.UUID, quarantined []quarantineRow, reports []fieldReportRow) error {
	var notes []liveNote
	for _, q := range quarantined {
		notes = append(notes, liveNote{kind: live.KindQuarantined, id: q.MutationID.String(), courier: courier,
			data: map[string]any{"mutation_id": q.MutationID, "courier_id": courier, "task_id": q.TaskID, "type": q.Type, "code": q.Code}})
	}
	for _, r := range reports {
		if outcome := fieldsync.StopOutcome(r.Type); outcome != "" {
			notes = append(notes, liveNote{kind: live.KindOutcome, id: r.MutationID.String(), courier: courier,
				data: map[string]any{"task_id": r.TaskID, "dossier_id": r.DossierID, "courier_id": courier, "outcome": outcome, "at": r.OccurredAt}})
		}
	}
	if len(notes) == 0 {
		return nil
	}
	query, args, err := notifyLive(notes)
	if err != nil {
		return err
	}
	return tx.Exec(query, args...).Error
}

func (r quarantineRow) toDomain() fieldsync.Quarantined {
	return fieldsync.Quarantined{MutationID: r.MutationID, DeviceID: r.DeviceID, CourierID: r.CourierID, TaskID: derefUUID(r.TaskID),
		Type: r.Type, Code: domain.Code(r.Code), Payload: r.Payload, CreatedAt: r.CreatedAt, ResolvedAt: r.ResolvedAt,
		ResolvedBy: derefUUID(r.ResolvedBy), Resolution: r.Resolution}
}

// inScope narrows q to quarantined facts of f's offices' couriers.
func inScope(q *gorm.DB, f fieldsync.QuarantineFilter) *gorm.DB {
	if f.PostOfficeIDs != nil {
		q = q.Where("courier_id IN (?)", whereIn(q.Session(&gorm.Session{NewDB: true}).Model(&courierRow{}).Select("id"), "post_office_id", f.PostOfficeIDs))
	}
	return q
}

func (s *PushStore) ListQuarantine(ctx context.Context, f fieldsync.QuarantineFilter, page domain.Page) (domain.List[fieldsync.Quarantined], error) {
	q := inScope(s.db.gorm.WithContext(ctx).Model(&quarantineRow{}), f)
	if f.Resolved != nil {
		q = q.Where("(resolved_at IS NOT NULL) = ?", *f.Resolved)
	}
	return pageOf(q, "created_at, mutation_id", page, "quarantined item", infallible(quarantineRow.toDomain))
}

func (s *PushStore) Resolve(ctx context.Context, id uuid.UUID, f fieldsync.QuarantineFilter, by uuid.UUID, resolution string, at time.Time, entry audit.Entry) error {
	return s.db.settleOpen(ctx, func(tx *gorm.DB) *gorm.DB { return inScope(tx.Model(&quarantineRow{}), f) }, "mutation_id = ? AND resolved_at IS NULL", id,
		map[string]any{"resolved_at": at.UTC(), "resolved_by": by, "resolution": resolution}, entry, "quarantined item", "no such open quarantined item")
}

// settleOpen settles one open row of those scoped returns (open: where holds, with id),
// setting set, in one transaction with its audit entry; none such is NOT_FOUND, missing.
func (db *DB) settleOpen(ctx context.Context, scoped func(*gorm.DB) *gorm.DB, open string, id uuid.UUID, set map[string]any, entry audit.Entry, what, missing string) error {
	return translate(db.inTx(ctx, func(tx *gorm.DB) error {
		res := scoped(tx).Where(open, id).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return domain.Errorf(domain.CodeNotFound, "%s", missing)
		}
		return nil
	}, entry), what)
}

func (s *PushStore) Reports(ctx context.Context, dossierID uuid.UUID) ([]fieldsync.Report, error) {
	var rows []fieldReportRow
	if err := s.db.gorm.WithContext(ctx).Where("dossier_id = ?", dossierID).Order("recorded_at, device_id, seq").Find(&rows).Error; err != nil {
		return nil, translate(err, "field report")
	}
	out := make([]fieldsync.Report, len(rows))
	for i, r := range rows {
		out[i] = fieldsync.Report{MutationID: r.MutationID, DossierID: r.DossierID, TaskID: r.TaskID, CourierID: r.CourierID,
			DeviceID: r.DeviceID, Type: r.Type, Payload: r.Payload, OccurredAt: r.OccurredAt, RecordedAt: r.RecordedAt}
		if r.TaskVersion != nil {
			out[i].TaskVersion = *r.TaskVersion
		}
		if r.Lat != nil && r.Lon != nil {
			out[i].Point = &orb.Point{*r.Lon, *r.Lat}
			if r.AccuracyM != nil {
				out[i].AccuracyM = *r.AccuracyM
			}
		}
	}
	return out, nil
}

func (s *PushStore) DuePickups(ctx context.Context, courier uuid.UUID, from, to time.Time) ([]fieldsync.Due, error) {
	// What the bank reported paid is not the courier's to collect.
	rows, err := s.db.gorm.WithContext(ctx).Raw(`SELECT id, owed FROM (
			SELECT DISTINCT d.id, d.fee_vnd + d.postage_vnd + d.surcharge_vnd
				- (SELECT coalesce(sum(p.amount_vnd), 0) FROM payments p WHERE p.dossier_id = d.id) AS owed
			FROM field_reports f JOIN dossiers d ON d.id = f.dossier_id
			WHERE f.courier_id = ? AND f.type IN ? AND f.occurred_at >= ? AND f.occurred_at < ? AND d.payment_method = ?) due
		WHERE owed > 0 ORDER BY id`, courier, fieldsync.FeeCarryingTypes(), from, to, string(dossier.PayCashToCourier)).Rows()
	if err != nil {
		return nil, translate(err, "cash ledger")
	}
	defer rows.Close()
	var out []fieldsync.Due
	for rows.Next() {
		var d fieldsync.Due
		if err := rows.Scan(&d.DossierID, &d.AmountVND); err != nil {
			return nil, translate(err, "cash ledger")
		}
		out = append(out, d)
	}
	return out, translate(rows.Err(), "cash ledger")
}

func (s *PushStore) CashLines(ctx context.Context, courier uuid.UUID, from, to time.Time) ([]fieldsync.CashLine, error) {
	return cashLines(s.db.gorm.WithContext(ctx), courier, from, to, false)
}

// cashLines are the courier's lines collected in [from, to), oldest first, each with the
// hand-in that covered it; open keeps those none did.
func cashLines(db *gorm.DB, courier uuid.UUID, from, to time.Time, open bool) ([]fieldsync.CashLine, error) {
	rows, err := db.Raw(`SELECT c.mutation_id, c.dossier_id, c.task_id, c.amount_vnd, c.method, c.receipt_number, c.collected_at, c.recorded_at,
			coalesce(h.handin_id, '00000000-0000-0000-0000-000000000000')
		FROM cash_collections c LEFT JOIN cash_handin_lines h ON h.collection_id = c.mutation_id
		WHERE c.courier_id = ? AND c.collected_at >= ? AND c.collected_at < ? AND (NOT ? OR h.handin_id IS NULL)
		ORDER BY c.collected_at, c.mutation_id`, courier, from, to, open).Rows()
	if err != nil {
		return nil, translate(err, "cash ledger")
	}
	defer rows.Close()
	var out []fieldsync.CashLine
	for rows.Next() {
		var l fieldsync.CashLine
		if err := rows.Scan(&l.MutationID, &l.DossierID, &l.TaskID, &l.AmountVND, &l.Method, &l.ReceiptNumber, &l.CollectedAt, &l.RecordedAt, &l.HandInID); err != nil {
			return nil, translate(err, "cash ledger")
		}
		out = append(out, l)
	}
	return out, translate(rows.Err(), "cash ledger")
}

type fieldErrorJSON struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func fieldErrorsJSON(fields []domain.FieldError) []byte {
	out := make([]fieldErrorJSON, len(fields))
	for i, f := range fields {
		out[i] = fieldErrorJSON(f)
	}
	b, _ := json.Marshal(out) // strings only: it cannot fail
	return b
}

func fieldErrorsOf(raw []byte) []domain.FieldError {
	var in []fieldErrorJSON
	_ = json.Unmarshal(raw, &in) // written by fieldErrorsJSON
	var out []domain.FieldError
	for _, f := range in {
		out = append(out, domain.FieldError(f))
	}
	return out
}
