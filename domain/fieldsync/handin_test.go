package fieldsync_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"courierd/domain"
	"courierd/domain/fieldsync"
)

// TestNewHandInGenerated: over generated days of lines (cash, transfers, QR) and counted
// amounts, a hand-in covers exactly the cash lines, its figure is their sum, and short and
// over are the difference one way or the other, never both; a day with no open cash line
// is refused with the code saying why, and a figure the receiver was not shown with
// CASH_CHANGED.
func TestNewHandInGenerated(t *testing.T) {
	day := time.Date(2026, 12, 8, 0, 0, 0, 0, domain.Vietnam)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 30).Draw(t, "lines")
		var open []fieldsync.CashLine
		var cash int64
		cashLines := map[uuid.UUID]bool{}
		for range n {
			l := fieldsync.CashLine{MutationID: uuid.New(), AmountVND: rapid.Int64Range(1, domain.MaxDueVND).Draw(t, "amount"),
				Method: rapid.SampledFrom([]string{"cash", "bank_transfer", "qr"}).Draw(t, "method")}
			if l.Method == "cash" {
				cash += l.AmountVND
				cashLines[l.MutationID] = true
			}
			open = append(open, l)
		}
		earlier := rapid.Bool().Draw(t, "earlier")
		counted := rapid.Int64Range(0, 2*cash+1).Draw(t, "counted")
		shown := cash
		if rapid.IntRange(0, 9).Draw(t, "stale") == 0 {
			shown = cash + rapid.Int64Range(1, 1000).Draw(t, "moved")
		}
		h, err := fieldsync.NewHandIn(open, earlier, fieldsync.HandInRequest{Day: day, CountedVND: counted, ToHandInVND: shown})
		switch {
		case len(cashLines) == 0 && earlier:
			wantCode(t, err, fieldsync.CodeCashHandedIn)
		case len(cashLines) == 0:
			wantCode(t, err, fieldsync.CodeNoCash)
		case shown != cash:
			wantCode(t, err, fieldsync.CodeCashChanged)
		default:
			if err != nil {
				t.Fatal(err)
			}
			if h.ToHandInVND != cash || h.CountedVND != counted || len(h.Lines) != len(cashLines) {
				t.Fatalf("hand-in %+v, want %d over %d lines", h, cash, len(cashLines))
			}
			for _, id := range h.Lines {
				if !cashLines[id] {
					t.Fatalf("covers %s, not a cash line", id)
				}
			}
			if h.ShortVND()-h.OverVND() != cash-counted || min(h.ShortVND(), h.OverVND()) != 0 {
				t.Fatalf("short %d over %d for %d counted against %d", h.ShortVND(), h.OverVND(), counted, cash)
			}
		}
	})
}

func wantCode(t *rapid.T, err error, code domain.Code) {
	if domain.ErrorCode(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}
