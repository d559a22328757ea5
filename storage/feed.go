package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"gorm.io/gorm"

	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// fieldTaskJSON is the stored form of a device's view of a stop.
type fieldTaskJSON struct {
	TaskID          uuid.UUID      `json:"task_id"`
	DossierID       uuid.UUID      `json:"dossier_id"`
	Kind            string         `json:"kind"`
	State           string         `json:"state"`
	Version         int            `json:"version"`
	ScheduledFor    *time.Time     `json:"scheduled_for,omitempty"`
	RouteSeq        *int           `json:"route_seq,omitempty"`
	PlannedArrival  *time.Time     `json:"planned_arrival,omitempty"`
	RouteTrip       *int           `json:"route_trip,omitempty"`
	ReloadArrival   *time.Time     `json:"reload_arrival,omitempty"`
	ReloadDeparture *time.Time     `json:"reload_departure,omitempty"`
	Slot            *dossier.Slot  `json:"slot,omitempty"`
	AmountDueVND    int64          `json:"amount_due_vnd,omitempty"`
	ReceiptCode     string         `json:"receipt_code"`
	DossierState    string         `json:"dossier_state"`
	DossierVersion  int            `json:"dossier_version"`
	ApplicantName   string         `json:"applicant_name"`
	ApplicantPhone  string         `json:"applicant_phone"`
	Address         string         `json:"address"`
	Lon             float64        `json:"lon"`
	Lat             float64        `json:"lat"`
	AgencyName      string         `json:"agency_name,omitempty"`
	ProcedureCode   string         `json:"procedure_code,omitempty"`
	ProcedureName   string         `json:"procedure_name,omitempty"`
	Checklist       []documentJSON `json:"checklist,omitempty"`
	Needs           *needsJSON     `json:"needs,omitempty"`
}

// needsJSON is the stored form of a delivery stop's needs.
type needsJSON struct {
	Signature     bool `json:"signature"`
	ProxyPhoto    bool `json:"proxy_photo"`
	IdentityCheck bool `json:"identity_check"`
	ProxyAllowed  bool `json:"proxy_allowed"`
}

func toFieldTaskJSON(t dossier.FieldTask) fieldTaskJSON {
	return fieldTaskJSON{TaskID: t.TaskID, DossierID: t.DossierID, Kind: string(t.Kind), State: string(t.State), Version: t.Version,
		ScheduledFor: t.ScheduledFor, RouteSeq: t.RouteSeq, PlannedArrival: t.PlannedArrival, RouteTrip: t.RouteTrip,
		ReloadArrival: t.ReloadArrival, ReloadDeparture: t.ReloadDeparture, Slot: t.Slot, AmountDueVND: t.AmountDueVND,
		ReceiptCode: t.ReceiptCode, DossierState: string(t.DossierState), DossierVersion: t.DossierVersion,
		ApplicantName: t.ApplicantName, ApplicantPhone: t.ApplicantPhone, Address: t.Address, Lon: t.Location.Lon(), Lat: t.Location.Lat(),
		AgencyName: t.AgencyName, ProcedureCode: t.ProcedureCode, ProcedureName: t.ProcedureName, Checklist: toDocumentsJSON(t.Checklist),
		Needs: (*needsJSON)(t.Needs)}
}

func (j fieldTaskJSON) toDomain() dossier.FieldTask {
	return dossier.FieldTask{TaskID: j.TaskID, DossierID: j.DossierID, Kind: dossier.TaskKind(j.Kind), State: dossier.TaskState(j.State),
		Version: j.Version, ScheduledFor: j.ScheduledFor, RouteSeq: j.RouteSeq, PlannedArrival: j.PlannedArrival, RouteTrip: j.RouteTrip,
		ReloadArrival: j.ReloadArrival, ReloadDeparture: j.ReloadDeparture, Slot: j.Slot,
		AmountDueVND: j.AmountDueVND, ReceiptCode: j.ReceiptCode, DossierState: dossier.State(j.DossierState),
		DossierVersion: j.DossierVersion, ApplicantName: j.ApplicantName, ApplicantPhone: j.ApplicantPhone, Address: j.Address,
		Location: orb.Point{j.Lon, j.Lat}, AgencyName: j.AgencyName, ProcedureCode: j.ProcedureCode, ProcedureName: j.ProcedureName,
		Checklist: fromDocumentsJSON(j.Checklist), Needs: (*dossier.DeliveryNeeds)(j.Needs)}
}

type changeRow struct {
	CourierID uuid.UUID `gorm:"primaryKey"`
	V         int64     `gorm:"primaryKey"`
	Entity    string
	Op        string
	EntityID  uuid.UUID
	Data      []byte `gorm:"type:jsonb"`
	Reason    string
	At        time.Time
}

func (changeRow) TableName() string { return "courier_changes" }

// writeFeed appends what changes mean to each courier to their feed, in the changes'
// order, numbering each courier's lines from their counter row, in one statement. The
// counters are taken in courier id order, so two transactions touching the same two
// couriers lock them in the same order.
func writeFeed(tx *gorm.DB, changes []dossier.Change) error {
	type line struct {
		change dossier.FeedChange
		at     time.Time
	}
	lines := map[uuid.UUID][]line{}
	for _, c := range changes {
		for courier, feed := range c.Feed {
			for _, ch := range feed {
				lines[courier] = append(lines[courier], line{change: ch, at: c.Record.At.UTC()})
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	couriers := make([][16]byte, 0, len(lines))
	for c := range lines {
		couriers = append(couriers, c)
	}
	slices.SortFunc(couriers, func(a, b [16]byte) int { return slices.Compare(a[:], b[:]) })
	// Each line is numbered back from its courier's new head: the last is the head.
	var (
		counts, back      []int64
		courierOf, taskOf [][16]byte
		ops, reasons      []string
		data              [][]byte
		at                []time.Time
	)
	for _, courier := range couriers {
		feed := lines[courier]
		counts = append(counts, int64(len(feed)))
		for i, l := range feed {
			var task []byte
			if l.change.Task != nil {
				var err error
				if task, err = json.Marshal(toFieldTaskJSON(*l.change.Task)); err != nil {
					return err
				}
			}
			courierOf, back, taskOf = append(courierOf, courier), append(back, int64(len(feed)-1-i)), append(taskOf, l.change.TaskID)
			ops, reasons, data, at = append(ops, l.change.Op), append(reasons, l.change.Reason), append(data, task), append(at, l.at)
		}
	}
	return tx.Exec(`WITH head AS (
			INSERT INTO courier_sync_state (courier_id, v) SELECT unnest($1::uuid[]), unnest($2::bigint[])
			ON CONFLICT (courier_id) DO UPDATE SET v = courier_sync_state.v + excluded.v RETURNING courier_id, v),
		line AS (SELECT unnest($3::uuid[]) AS courier_id, unnest($4::bigint[]) AS back, unnest($5::uuid[]) AS entity_id,
			unnest($6::text[]) AS op, unnest($7::text[]) AS reason, unnest($8::jsonb[]) AS data, unnest($9::timestamptz[]) AS at)
		INSERT INTO courier_changes (courier_id, v, entity, op, entity_id, data, reason, at)
		SELECT line.courier_id, head.v - line.back, 'task', line.op, line.entity_id, line.data, line.reason, line.at
		FROM line JOIN head USING (courier_id)`, couriers, counts, courierOf, back, taskOf, ops, reasons, data, at).Error
}

// FeedStore reads couriers' change feeds.
type FeedStore struct{ db *DB }

func NewFeedStore(db *DB) *FeedStore { return &FeedStore{db: db} }

// Changes reads, in one snapshot, up to limit changes after v of courier's feed, the
// feed's head, its oldest change still kept (0 when none), and the last sequence number
// applied from device: what a pull shows is consistent with what was pushed.
func (s *FeedStore) Changes(ctx context.Context, courier, device uuid.UUID, after int64, limit int) ([]dossier.FeedChange, int64, int64, int64, error) {
	var out []dossier.FeedChange
	var head, oldest, lastSeq int64
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT coalesce((SELECT v FROM courier_sync_state WHERE courier_id = ?), 0),
			coalesce((SELECT min(v) FROM courier_changes WHERE courier_id = ?), 0),
			coalesce((SELECT last_seq FROM sync_devices WHERE device_id = ?), 0)`, courier, courier, device).Row().Scan(&head, &oldest, &lastSeq); err != nil {
			return err
		}
		var rows []changeRow
		if err := tx.Where("courier_id = ? AND v > ?", courier, after).Order("v").Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			c := dossier.FeedChange{V: r.V, Op: r.Op, TaskID: r.EntityID, Reason: r.Reason}
			if r.Data != nil {
				var j fieldTaskJSON
				if err := json.Unmarshal(r.Data, &j); err != nil {
					return err
				}
				t := j.toDomain()
				c.Task = &t
			}
			out = append(out, c)
		}
		return nil
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	return out, head, oldest, lastSeq, translate(err, "change feed")
}

// Snapshot is a page of what courier's device should hold now: up to limit of their stops
// still to do, in id order after the stop after (uuid.Nil: from the first), each at its
// latest, with the feed's head and the device's last applied sequence number. No
// transaction: the head and last_seq are read first, so a change that lands between the
// reads is in the stops read and comes again after the head (an upsert or a removal, the
// same twice), and an older last_seq only means the device keeps a mutation the server
// answers duplicate. Three statements, where a read-only transaction would add two round
// trips to every pull from no cursor.
func (s *FeedStore) Snapshot(ctx context.Context, courier, device, after uuid.UUID, limit int) ([]dossier.FieldTask, int64, int64, error) {
	tasks, head, lastSeq, err := snapshot(s.db.gorm.WithContext(ctx), courier, device, after, limit)
	return tasks, head, lastSeq, translate(err, "change feed")
}

// openTasksCondition names the finished states as constants rather than parameters:
// only then can PostgreSQL's generic plan of the prepared statement use
// tasks_open_by_courier_idx, whose predicate names them the same way (migration 00040).
// With parameters the generic plan walks every stop in id order.
var openTasksCondition = "courier_id = ? AND state NOT IN (" + quotedList(texts(dossier.FinishedTaskStates)) + ") AND id > ?"

// openTasks is courier's stops still to do after the stop after, in id order, up to limit.
func openTasks(db *gorm.DB, courier, after uuid.UUID, limit int) *gorm.DB {
	return db.Model(&taskRow{}).Where(openTasksCondition, courier, after).Order("id").Limit(limit)
}

// quotedList is values as SQL string literals, comma-separated; for constants of the code
// only, never for input.
func quotedList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(quoted, ", ")
}

func snapshot(db *gorm.DB, courier, device, after uuid.UUID, limit int) ([]dossier.FieldTask, int64, int64, error) {
	var head, lastSeq int64
	var tasks []dossier.FieldTask
	if err := db.Raw(`SELECT coalesce((SELECT v FROM courier_sync_state WHERE courier_id = ?), 0),
		coalesce((SELECT last_seq FROM sync_devices WHERE device_id = ?), 0)`, courier, device).Row().Scan(&head, &lastSeq); err != nil {
		return nil, 0, 0, err
	}
	var taskRows []taskRow
	if err := openTasks(db, courier, after, limit).Find(&taskRows).Error; err != nil {
		return nil, 0, 0, err
	}
	// The stops' dossiers and the agencies of their collections, one statement each: a
	// read per stop would hold the connection for a route's length of round trips.
	dossierIDs, agencyIDs := make([][16]byte, 0, len(taskRows)), [][16]byte{}
	for _, tr := range taskRows {
		dossierIDs = append(dossierIDs, tr.DossierID)
	}
	var dossierRows []dossierRow
	if err := findByIDs(db, dossierIDs, &dossierRows); err != nil {
		return nil, 0, 0, err
	}
	dossiers := make(map[uuid.UUID]dossierRow, len(dossierRows))
	for _, d := range dossierRows {
		dossiers[d.ID] = d
	}
	procedureIDs := make([][16]byte, 0, len(dossierRows))
	for _, d := range dossierRows {
		procedureIDs = append(procedureIDs, d.ProcedureID)
	}
	for _, tr := range taskRows {
		if tr.Kind == string(dossier.TaskCollection) {
			agencyIDs = append(agencyIDs, dossiers[tr.DossierID].AgencyID)
		}
	}
	var procedureRows []procedureRow
	if err := findByIDs(db, procedureIDs, &procedureRows); err != nil {
		return nil, 0, 0, err
	}
	procedures := make(map[uuid.UUID]catalog.Procedure, len(procedureRows))
	for _, row := range procedureRows {
		pr, err := row.toDomain()
		if err != nil {
			return nil, 0, 0, err
		}
		procedures[row.ID] = pr
	}
	agencies := map[uuid.UUID]catalog.Agency{}
	if len(agencyIDs) > 0 {
		var agencyRows []agencyRow
		if err := findByIDs(db, agencyIDs, &agencyRows); err != nil {
			return nil, 0, 0, err
		}
		for _, row := range agencyRows {
			a, err := row.toDomain()
			if err != nil {
				return nil, 0, 0, err
			}
			agencies[row.ID] = a
		}
	}
	for _, tr := range taskRows {
		// The foreign keys guarantee both rows; a miss would be a broken database.
		d, found := dossiers[tr.DossierID]
		if !found {
			return nil, 0, 0, fmt.Errorf("stop %s names dossier %s, which is not there", tr.ID, tr.DossierID)
		}
		var agency *catalog.Agency
		if tr.Kind == string(dossier.TaskCollection) {
			a, found := agencies[d.AgencyID]
			if !found {
				return nil, 0, 0, fmt.Errorf("dossier %s names agency %s, which is not there", d.ID, d.AgencyID)
			}
			agency = &a
		}
		tasks = append(tasks, dossier.FieldView(d.toDomain(), tr.toDomain(), agency, procedures[d.ProcedureID]))
	}
	return tasks, head, lastSeq, nil
}

// PruneSync forgets what devices no longer need once cutoff has passed: the oldest changes
// of each courier's feed, always a prefix (a device whose cursor falls before what is kept
// gets a snapshot, and no hole can make one skip a change), and the outcomes of mutations
// applied before cutoff, except quarantined ones; each device remembers up to which
// sequence number it was pruned, so that a very late retry is still a duplicate.
func PruneSync(ctx context.Context, db *DB, cutoff time.Time) (changes, mutations int64, err error) {
	err = db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM courier_changes c USING courier_sync_state s
			WHERE c.courier_id = s.courier_id AND c.at < ?
			AND c.v < coalesce((SELECT min(k.v) FROM courier_changes k WHERE k.courier_id = c.courier_id AND k.at >= ?), s.v + 1)`,
			cutoff, cutoff)
		if res.Error != nil {
			return res.Error
		}
		changes = res.RowsAffected
		return tx.Raw(`WITH gone AS (
				DELETE FROM sync_mutations m WHERE m.applied_at < ?
				AND NOT EXISTS (SELECT 1 FROM sync_quarantine q WHERE q.mutation_id = m.id)
				RETURNING m.device_id, m.seq),
			marked AS (
				UPDATE sync_devices d SET pruned_through = greatest(d.pruned_through, g.top)
				FROM (SELECT device_id, max(seq) AS top FROM gone GROUP BY device_id) g
				WHERE d.device_id = g.device_id RETURNING 1)
			SELECT count(*) FROM gone`, cutoff).Row().Scan(&mutations)
	})
	return changes, mutations, translate(err, "sync retention")
}
