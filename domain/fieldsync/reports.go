package fieldsync

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
)

// Report is an applied mutation kept whole with its dossier: what the courier recorded,
// as the device sent it.
type Report struct {
	MutationID  uuid.UUID
	DossierID   uuid.UUID
	TaskID      uuid.UUID
	CourierID   uuid.UUID
	DeviceID    uuid.UUID
	Type        string
	TaskVersion int
	Payload     json.RawMessage
	OccurredAt  time.Time
	Point       *orb.Point
	AccuracyM   float64
	RecordedAt  time.Time
}

// CashLine is one sum a courier took at a stop.
type CashLine struct {
	MutationID    uuid.UUID
	DossierID     uuid.UUID
	TaskID        uuid.UUID
	AmountVND     int64
	Method        string
	ReceiptNumber string
	CollectedAt   time.Time
	RecordedAt    time.Time
	HandInID      uuid.UUID // the hand-in that covered it; uuid.Nil while the cash is the courier's
}

// CashDay is what a courier took in one day, by line and by method, against what the
// pickups they made that day were due to bring in.
type CashDay struct {
	CourierID uuid.UUID
	Day       time.Time
	TotalVND  int64
	ByMethod  map[string]int64
	Lines     []CashLine
	// ToHandInVND is the cash among it, what the courier hands in at the counter (transfers
	// and QR payments reached the bank already).
	ToHandInVND int64
	// DueVND is the fees and postage of the day's pickups whose applicants chose to pay
	// the courier; Short lists the pickups where less was recorded than was due.
	DueVND int64
	Short  []Shortfall
	// HandIns are the day's hand-ins at the counter; HandedInVND what they counted, and
	// StillToHandInVND the cash lines none of them covers.
	HandIns          []HandIn
	HandedInVND      int64
	StillToHandInVND int64
}

// Due is what one pickup was due to bring in.
type Due struct {
	DossierID uuid.UUID
	AmountVND int64
}

// Shortfall is a pickup where less was recorded than was due.
type Shortfall struct {
	DossierID            uuid.UUID
	DueVND, CollectedVND int64
}

// ReportStore reads what couriers reported.
type ReportStore interface {
	Reports(ctx context.Context, dossier uuid.UUID) ([]Report, error)
	// CashLines are a courier's lines collected in [from, to), oldest first.
	CashLines(ctx context.Context, courier uuid.UUID, from, to time.Time) ([]CashLine, error)
	// DuePickups are the pickups the courier reported in [from, to) of dossiers paid to
	// the courier, with their fee and postage.
	DuePickups(ctx context.Context, courier uuid.UUID, from, to time.Time) ([]Due, error)
	HandInStore
}

// Reports answers what was reported on a dossier and what a courier took in a day, and
// records the day's cash handed in at the counter. The caller checks that the reader may
// see the dossier or the courier.
type Reports struct {
	store ReportStore
	now   func() time.Time
	newID func() uuid.UUID
}

func NewReports(store ReportStore, now func() time.Time, newID func() uuid.UUID) *Reports {
	return &Reports{store: store, now: now, newID: newID}
}

func (r *Reports) Of(ctx context.Context, dossier uuid.UUID) ([]Report, error) {
	return r.store.Reports(ctx, dossier)
}

// Cash is the courier's ledger for day, a calendar day in loc (the post office's time,
// by the device's clock at each stop).
func (r *Reports) Cash(ctx context.Context, courier uuid.UUID, day time.Time, loc *time.Location) (CashDay, error) {
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	lines, err := r.store.CashLines(ctx, courier, from, from.AddDate(0, 0, 1))
	if err != nil {
		return CashDay{}, err
	}
	due, err := r.store.DuePickups(ctx, courier, from, from.AddDate(0, 0, 1))
	if err != nil {
		return CashDay{}, err
	}
	out := CashDay{CourierID: courier, Day: from, ByMethod: map[string]int64{}, Lines: lines}
	var t domain.Tally
	collected := map[uuid.UUID]int64{}
	for _, l := range lines {
		out.TotalVND = t.Sum(out.TotalVND, l.AmountVND)
		out.ByMethod[l.Method] = t.Sum(out.ByMethod[l.Method], l.AmountVND)
		collected[l.DossierID] = t.Sum(collected[l.DossierID], l.AmountVND)
		if l.Method == "cash" {
			out.ToHandInVND = t.Sum(out.ToHandInVND, l.AmountVND)
			if l.HandInID == uuid.Nil {
				out.StillToHandInVND = t.Sum(out.StillToHandInVND, l.AmountVND)
			}
		}
	}
	if out.HandIns, err = r.store.HandIns(ctx, courier, from); err != nil {
		return CashDay{}, err
	}
	for _, h := range out.HandIns {
		out.HandedInVND = t.Sum(out.HandedInVND, h.CountedVND)
	}
	for _, d := range due {
		out.DueVND = t.Sum(out.DueVND, d.AmountVND)
		if collected[d.DossierID] < d.AmountVND {
			out.Short = append(out.Short, Shortfall{DossierID: d.DossierID, DueVND: d.AmountVND, CollectedVND: collected[d.DossierID]})
		}
	}
	return out, t.Err()
}
