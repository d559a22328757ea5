package report

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// spy is a store that records the query it is asked.
type spy struct{ asked []Query }

func (s *spy) Flow(_ context.Context, q Query) ([]FlowRow, error) {
	s.asked = append(s.asked, q)
	return []FlowRow{{Key: uuid.New()}}, nil
}
func (s *spy) Couriers(_ context.Context, q Query) ([]CourierRow, error) {
	s.asked = append(s.asked, q)
	return nil, nil
}
func (s *spy) LateLegs(_ context.Context, q Query, _ int) ([]LateLeg, error) {
	s.asked = append(s.asked, q)
	return nil, nil
}
func (s *spy) Cash(_ context.Context, q Query) ([]CashRow, error) {
	s.asked = append(s.asked, q)
	return nil, nil
}

// TestPeriodAndScope: generated periods are accepted exactly when not empty and at most
// MaxSpanDays long, an unknown grouping is refused naming "by", and what reaches the store
// is the period in Vietnam's midnights cut to the caller's scope; a courier's and a
// citizen's reach no store and see nothing.
func TestPeriodAndScope(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 3))
	office, agency := uuid.New(), uuid.New()
	callers := []struct {
		p               auth.Principal
		offices         []uuid.UUID
		agency          uuid.UUID
		reachesTheStore bool
	}{
		{auth.Principal{Role: auth.RoleAdmin}, nil, uuid.Nil, true},
		{auth.Principal{Role: auth.RoleDispatcher, PostOfficeIDs: []uuid.UUID{office}}, []uuid.UUID{office}, uuid.Nil, true},
		{auth.Principal{Role: auth.RoleDispatcher}, []uuid.UUID{}, uuid.Nil, true},
		{auth.Principal{Role: auth.RoleClerk, AgencyID: agency}, nil, agency, true},
		{auth.Principal{Role: auth.RoleCourier, CourierID: uuid.New()}, nil, uuid.Nil, false},
		{auth.Principal{Role: auth.RoleCitizen, PhoneIndex: "x"}, nil, uuid.Nil, false},
	}
	for range 200 {
		from := time.Date(2024+rng.IntN(3), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 0, rng.IntN(2*MaxSpanDays)-MaxSpanDays/2)
		by := Groupings[rng.IntN(len(Groupings))]
		if rng.IntN(5) == 0 {
			by = Grouping([]string{"office", "", "POST_OFFICE", "day"}[rng.IntN(4)])
		}
		c := callers[rng.IntN(len(callers))]
		// No office asked (every one in scope), the caller's own, or another.
		asked := []uuid.UUID{uuid.Nil, office, uuid.New()}[rng.IntN(3)]
		wantOffices := c.offices
		if asked != uuid.Nil {
			wantOffices = []uuid.UUID{}
			if c.offices == nil || slices.Contains(c.offices, asked) {
				wantOffices = []uuid.UUID{asked}
			}
		}
		store := &spy{}
		rows, err := NewService(store).Flow(auth.WithPrincipal(context.Background(), c.p), from, to, by, asked)
		days := int(to.Sub(from).Hours() / 24)
		var bad []string
		if !slices.Contains(Groupings, by) {
			bad = append(bad, "by")
		}
		if days <= 0 || days > MaxSpanDays {
			bad = append(bad, "to")
		}
		var e *domain.Error
		switch {
		case len(bad) > 0:
			if !errors.As(err, &e) || e.Code != domain.CodeValidationFailed || len(e.Fields) == 0 {
				t.Fatalf("%s..%s by %q: %v, want VALIDATION_FAILED on %v", from, to, by, err, bad)
			}
			for _, f := range e.Fields {
				if !slices.Contains(bad, f.Field) {
					t.Fatalf("%s..%s by %q: names %s, want %v", from, to, by, f.Field, bad)
				}
			}
			if len(store.asked) != 0 {
				t.Fatalf("a refused report reached the store")
			}
		case err != nil:
			t.Fatalf("%s..%s by %q as %s: %v", from, to, by, c.p.Role, err)
		case !c.reachesTheStore:
			if len(store.asked) != 0 || len(rows) != 0 {
				t.Fatalf("%s reached the store: %v", c.p.Role, store.asked)
			}
		default:
			q := store.asked[0]
			if !q.From.Equal(domain.Midnight(from)) || !q.To.Equal(domain.Midnight(to)) || q.By != by ||
				!slices.Equal(q.PostOfficeIDs, wantOffices) || (q.PostOfficeIDs == nil) != (wantOffices == nil) || q.AgencyID != c.agency {
				t.Fatalf("%s asking for office %s: asked the store %+v", c.p.Role, asked, q)
			}
		}
	}
}
