package counter

import (
	"fmt"
	"math/bits"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// TestReceiveCountsEveryDifference: over every split of three listed dossiers into
// received and not, with and without a dossier counted that was not listed, and with the
// seal read right or wrong, a receipt moves exactly the listed dossiers received (each by
// the event its direction names), marks the others missing, appends the unlisted one as
// extra, and counts each difference once; a manifest already received is refused.
func TestReceiveCountsEveryDifference(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	p := auth.Principal{Role: auth.RoleClerk, AccountID: uuid.New()}
	listed := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	stranger := uuid.New()
	dossiers := map[uuid.UUID]dossier.Dossier{}
	for i, id := range listed {
		dossiers[id] = dossier.Dossier{ID: id, State: dossier.StateAtPostOffice, Version: i + 1, Receipt: dossier.ReceiptCode(fmt.Sprint(i))}
	}
	for mask := 0; mask < 1<<len(listed); mask++ {
		for _, extra := range []bool{false, true} {
			for _, seal := range []string{" s-1 ", "S-2"} {
				m := Manifest{ID: uuid.New(), Direction: ToAgency, SealNumber: "S-1", Version: 1}
				var received []uuid.UUID
				for i, id := range listed {
					m.Items = append(m.Items, ManifestItem{DossierID: id, Status: ItemSent})
					if mask&(1<<i) != 0 {
						received = append(received, id)
					}
				}
				if extra {
					received = append(received, stranger)
				}
				var decided []uuid.UUID
				decide := func(d dossier.Dossier, _ []dossier.Task, in dossier.EventInput) (dossier.Change, error) {
					if in.Event != dossier.EventHandToAgency || in.Version != d.Version || in.Proof.ManifestID != m.ID || in.Proof.SealNumber != strings.TrimSpace(seal) {
						t.Errorf("dossier %s decided with %+v", d.Receipt, in)
					}
					decided = append(decided, d.ID)
					return dossier.Change{Dossier: d}, nil
				}
				change, err := receive(m, Receipt{SealRead: seal, Note: "n"}, received, dossiers, nil, decide, p, now)
				if err != nil {
					t.Fatalf("mask %b extra %v seal %q: %v", mask, extra, seal, err)
				}
				want := 0
				for i, item := range change.Manifest.Items[:len(listed)] {
					status := ItemMissing
					if mask&(1<<i) != 0 {
						status = ItemReceived
					} else {
						want++
					}
					if item.Status != status {
						t.Errorf("mask %b: item %d is %s, want %s", mask, i, item.Status, status)
					}
				}
				if extra {
					want++
					if n := len(change.Manifest.Items); n != len(listed)+1 || change.Manifest.Items[n-1] != (ManifestItem{DossierID: stranger, Status: ItemExtra}) {
						t.Errorf("mask %b: the unlisted dossier is not the last item, extra: %+v", mask, change.Manifest.Items)
					}
				} else if len(change.Manifest.Items) != len(listed) {
					t.Errorf("mask %b: %d items, want %d", mask, len(change.Manifest.Items), len(listed))
				}
				if !sameSeal(m.SealNumber, seal) {
					want++
				}
				got := change.Manifest
				if got.Discrepancies != want || len(change.Changes) != len(decided) || len(decided) != bits.OnesCount(uint(mask)) {
					t.Errorf("mask %b extra %v seal %q: %d discrepancies, %d changes of %d decided; want %d discrepancies, %d changes",
						mask, extra, seal, got.Discrepancies, len(change.Changes), len(decided), want, bits.OnesCount(uint(mask)))
				}
				if got.ReceivedAt == nil || !got.ReceivedAt.Equal(now) || got.ReceivedBy != p.AccountID || got.SealRead != strings.TrimSpace(seal) || got.Version != 2 {
					t.Errorf("the receipt is not recorded: %+v", got)
				}
				if change.Audit.Action != "manifest.receive" || change.Audit.Detail["discrepancies"] != want || change.Audit.Detail["received"] != len(decided) {
					t.Errorf("audit entry %+v", change.Audit)
				}
				if _, err := receive(got, Receipt{SealRead: seal}, received, dossiers, nil, decide, p, now); domain.ErrorCode(err) != dossier.CodeInvalidTransition {
					t.Errorf("a manifest received twice: %v, want INVALID_TRANSITION", err)
				}
			}
		}
	}
}

// TestCloseDayExplainsTheWholeBag: over every bag of up to four dossiers, each without a
// reason, with a blank one or with one, the day closes only when every dossier has a
// reason, keeping them trimmed; otherwise BAG_NOT_EMPTY names each one without.
func TestCloseDayExplainsTheWholeBag(t *testing.T) {
	reasons := []string{"", "  ", " first hour delivery "}
	for n := 0; n <= 4; n++ {
		for pick := 0; pick < pow(len(reasons), n); pick++ {
			bag := make([]dossier.Dossier, n)
			explanations := map[uuid.UUID]string{}
			var unexplained []string
			for i, c := 0, pick; i < n; i, c = i+1, c/len(reasons) {
				bag[i] = dossier.Dossier{ID: uuid.New(), Receipt: dossier.ReceiptCode(fmt.Sprintf("R%d", i))}
				if r := reasons[c%len(reasons)]; r != "" {
					explanations[bag[i].ID] = r
				}
				if strings.TrimSpace(explanations[bag[i].ID]) == "" {
					unexplained = append(unexplained, bag[i].Receipt.String())
				}
			}
			explanations[uuid.New()] = "a dossier not in the bag"
			kept, err := explained(bag, explanations)
			if len(unexplained) > 0 {
				e, ok := domain.AsError(err)
				if !ok || e.Code != CodeBagNotEmpty || len(e.Fields) != len(unexplained) {
					t.Fatalf("bag %d/%d: %v, want BAG_NOT_EMPTY naming %v", n, pick, err, unexplained)
				}
				for i, f := range e.Fields {
					if !strings.HasPrefix(f.Reason, unexplained[i]+" ") {
						t.Errorf("bag %d/%d: field %d says %q, want %s", n, pick, i, f.Reason, unexplained[i])
					}
				}
				continue
			}
			if err != nil || len(kept) != n {
				t.Fatalf("bag %d/%d: kept %v, %v; want the whole bag", n, pick, kept, err)
			}
			for _, d := range bag {
				if kept[d.ID] != "first hour delivery" {
					t.Errorf("bag %d/%d: %s kept for %q", n, pick, d.Receipt, kept[d.ID])
				}
			}
		}
	}
}

func pow(b, e int) int {
	r := 1
	for ; e > 0; e-- {
		r *= b
	}
	return r
}
