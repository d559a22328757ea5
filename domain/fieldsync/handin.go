package fieldsync

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

const (
	// CodeCashHandedIn: every cash line of the courier's day was handed in already.
	CodeCashHandedIn domain.Code = "CASH_ALREADY_HANDED_IN"
	// CodeNoCash: the courier took no cash that day; there is nothing to count.
	CodeNoCash domain.Code = "NO_CASH_TO_HAND_IN"
	// CodeCashChanged: the cash to hand in is not what the receiver was shown (a line
	// synced meanwhile); they count again against the new figure.
	CodeCashChanged domain.Code = "CASH_CHANGED"
)

// HandIn is a courier's cash of one day received at the post office's counter: what the
// lines it covers add up to, what was counted, and who counted it. A difference is kept,
// short or over, never adjusted away.
type HandIn struct {
	ID           uuid.UUID
	CourierID    uuid.UUID
	PostOfficeID uuid.UUID
	Day          time.Time // the day of the collections, in Vietnam
	ToHandInVND  int64     // the cash lines it covers, summed
	CountedVND   int64
	ReceivedBy   uuid.UUID
	HandedInAt   time.Time
	Lines        []uuid.UUID // the cash lines' mutation ids
}

// ShortVND is what the counted cash lacked.
func (h HandIn) ShortVND() int64 { return max(h.ToHandInVND-h.CountedVND, 0) }

// OverVND is what the counted cash had beyond the lines.
func (h HandIn) OverVND() int64 { return max(h.CountedVND-h.ToHandInVND, 0) }

// HandInRequest is what the receiver records: the day, the cash counted and the figure
// they were shown to hand in, which must still be the figure when the hand-in commits.
type HandInRequest struct {
	Day         time.Time
	CountedVND  int64
	ToHandInVND int64
}

// Check validates the request's figures.
func (r HandInRequest) Check() error {
	var p domain.Problems
	p.Check(!r.Day.IsZero(), "date", "is required")
	p.CheckVND(r.CountedVND, 0, domain.MaxTotalVND, "counted_vnd")
	p.CheckVND(r.ToHandInVND, 1, domain.MaxTotalVND, "to_hand_in_vnd")
	return p.Err()
}

// NewHandIn is the hand-in of a day's cash lines still open (open: the day's lines not
// handed in; earlier: whether a hand-in of the day was recorded before). Every open line
// paid in cash is covered: a day is handed in whole, and a later hand-in of the same day
// only covers lines synced after the first (a device that was offline).
func NewHandIn(open []CashLine, earlier bool, r HandInRequest) (HandIn, error) {
	h := HandIn{Day: r.Day, CountedVND: r.CountedVND}
	var t domain.Tally
	for _, l := range open {
		if l.Method == "cash" {
			h.ToHandInVND = t.Sum(h.ToHandInVND, l.AmountVND)
			h.Lines = append(h.Lines, l.MutationID)
		}
	}
	if err := t.Err(); err != nil {
		return HandIn{}, err
	}
	switch {
	case len(h.Lines) == 0 && earlier:
		return HandIn{}, domain.Errorf(CodeCashHandedIn, "the courier's cash of %s was handed in already", r.Day.Format(time.DateOnly))
	case len(h.Lines) == 0:
		return HandIn{}, domain.Errorf(CodeNoCash, "the courier took no cash on %s", r.Day.Format(time.DateOnly))
	case h.ToHandInVND != r.ToHandInVND:
		return HandIn{}, domain.Errorf(CodeCashChanged, "the cash to hand in is now %d đồng, not %d: count against it", h.ToHandInVND, r.ToHandInVND)
	}
	return h, nil
}

// HandInStore keeps hand-ins.
type HandInStore interface {
	// RecordHandIn runs decide in one transaction over the courier's cash lines of [from,
	// to) not handed in and whether the day has a hand-in, then writes the hand-in it
	// returns (its lines once each: a line handed in meanwhile fails it with
	// CodeCashHandedIn) with the audit entry of the caller's act.
	RecordHandIn(ctx context.Context, courier uuid.UUID, from, to time.Time, decide func(office uuid.UUID, open []CashLine, earlier bool) (HandIn, error)) (HandIn, error)
	// HandIns are the hand-ins of the courier's day, oldest first.
	HandIns(ctx context.Context, courier uuid.UUID, day time.Time) ([]HandIn, error)
}

// HandIn records that the courier's cash of r.Day was received at the counter, by the
// caller: a dispatcher or an admin (the caller checks that they may see the courier).
func (r *Reports) HandIn(ctx context.Context, courier uuid.UUID, req HandInRequest) (HandIn, error) {
	p := auth.PrincipalFrom(ctx)
	if !p.Is(auth.RoleAdmin) && !p.Is(auth.RoleDispatcher) {
		return HandIn{}, domain.Errorf(domain.CodeForbidden, "a dispatcher or an admin receives a courier's cash")
	}
	if err := req.Check(); err != nil {
		return HandIn{}, err
	}
	from := domain.Midnight(req.Day)
	return r.store.RecordHandIn(ctx, courier, from, from.AddDate(0, 0, 1), func(office uuid.UUID, open []CashLine, earlier bool) (HandIn, error) {
		h, err := NewHandIn(open, earlier, req)
		h.ID, h.CourierID, h.PostOfficeID, h.Day, h.ReceivedBy, h.HandedInAt = r.newID(), courier, office, from, p.AccountID, r.now()
		return h, err
	})
}
