package payment

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"courierd/domain"
)

// TestRemittancesNeverSettleTwice: generated dossiers receive money (cash lines and
// transfers, some synced late with an earlier date) while remittances over random periods
// settle what the report says is owed. No receipt is ever settled twice, no dossier's
// remitted shares pass its fee or what it received, a period with nothing owed is refused
// with ALREADY_REMITTED, an amount other than the owed one with AMOUNT_MISMATCH, and once
// every day is remitted each dossier's agency got exactly its fee's part received.
func TestRemittancesNeverSettleTwice(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, domain.Vietnam)
	day := func(n int) time.Time { return start.AddDate(0, 0, n) }
	rapid.Check(t, func(t *rapid.T) {
		type money struct {
			dossier int
			id      uuid.UUID
			bank    bool
			amount  int64
			at      time.Time
		}
		dossiers := rapid.IntRange(1, 5).Draw(t, "dossiers")
		fees := make([]int64, dossiers)
		for i := range fees {
			fees[i] = rapid.Int64Range(0, 200_000).Draw(t, "fee")
		}
		var all []money
		remitted := map[uuid.UUID]int64{}
		// lines is what the store answers for [from, to): per dossier with money in it,
		// the period's receipts in order, what came before, all it received and remitted.
		lines := func(from, to time.Time) []RemittanceLine {
			sorted := slices.Clone(all)
			slices.SortFunc(sorted, func(a, b money) int {
				return cmp.Or(a.at.Compare(b.at), slices.Compare(a.id[:], b.id[:]))
			})
			var out []RemittanceLine
			for d := range dossiers {
				l := RemittanceLine{DossierID: uuid.NewSHA1(uuid.Nil, []byte{byte(d)}), FeeVND: fees[d]}
				for _, m := range sorted {
					if m.dossier != d {
						continue
					}
					l.AllReceivedVND += m.amount
					l.AllRemittedVND += remitted[m.id]
					switch {
					case m.at.Before(from):
						l.EarlierVND += m.amount
					case m.at.Before(to):
						l.ReceivedVND += m.amount
						rc := Receipt{ID: m.id, Bank: m.bank, AmountVND: m.amount}
						if v, ok := remitted[m.id]; ok {
							rc.RemittedVND = &v
						}
						l.Receipts = append(l.Receipts, rc)
					}
				}
				if len(l.Receipts) > 0 {
					out = append(out, l)
				}
			}
			return out
		}
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for range steps {
			if rapid.Bool().Draw(t, "receive") {
				all = append(all, money{dossier: rapid.IntRange(0, dossiers-1).Draw(t, "dossier"), id: uuid.New(), bank: rapid.Bool().Draw(t, "bank"),
					amount: rapid.Int64Range(1, 150_000).Draw(t, "amount"), at: day(rapid.IntRange(0, 29).Draw(t, "day")).Add(time.Duration(rapid.IntRange(0, 86399).Draw(t, "s")) * time.Second)})
				continue
			}
			a := rapid.IntRange(0, 29).Draw(t, "from")
			from, to := day(a), day(a+rapid.IntRange(1, 30-a).Draw(t, "span"))
			report, err := remittance(uuid.Nil, from, to, lines(from, to))
			if err != nil {
				t.Fatal(err)
			}
			if rapid.IntRange(0, 5).Draw(t, "wrong") == 0 {
				if _, err := Settle(report, nil, report.OwedVND+1); domain.ErrorCode(err) != CodeAmountMismatch && (report.OwedVND != 0 || domain.ErrorCode(err) != CodeAlreadyRemitted) {
					t.Fatalf("a wrong amount: %v", err)
				}
			}
			settled, err := Settle(report, nil, report.OwedVND)
			if report.OwedVND == 0 {
				if domain.ErrorCode(err) != CodeAlreadyRemitted {
					t.Fatalf("nothing owed, yet: %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, s := range settled {
				if _, twice := remitted[s.Receipt.ID]; twice {
					t.Fatalf("receipt %s settled twice", s.Receipt.ID)
				}
				remitted[s.Receipt.ID] = *s.Receipt.RemittedVND
				sum += *s.Receipt.RemittedVND
			}
			if sum != report.OwedVND {
				t.Fatalf("settled %d, owed %d", sum, report.OwedVND)
			}
			for d := range dossiers {
				var got, in int64
				for _, m := range all {
					if m.dossier == d {
						got += remitted[m.id]
						in += m.amount
					}
				}
				if got > min(fees[d], in) {
					t.Fatalf("dossier %d: %d remitted, fee %d, received %d", d, got, fees[d], in)
				}
			}
		}
		// The whole month remitted (twice over: the second finds nothing), every dossier's
		// agency has its fee's part of what was received.
		for range 2 {
			report, err := remittance(uuid.Nil, day(0), day(30), lines(day(0), day(30)))
			if err != nil {
				t.Fatal(err)
			}
			settled, err := Settle(report, nil, report.OwedVND)
			if err != nil && report.OwedVND != 0 {
				t.Fatal(err)
			}
			for _, s := range settled {
				remitted[s.Receipt.ID] = *s.Receipt.RemittedVND
			}
		}
		for d := range dossiers {
			var got, in int64
			for _, m := range all {
				if m.dossier == d {
					got += remitted[m.id]
					in += m.amount
				}
			}
			if got != min(fees[d], in) {
				t.Fatalf("dossier %d: %d remitted in all, fee %d, received %d", d, got, fees[d], in)
			}
		}
	})
}
