// Package report answers the post's reports over a period, computed from the record itself
// (the dossiers, their history and their field tasks): no second bookkeeping to drift from
// it. Every report is cut to what the caller may see, like every list.
//
// Imports allowed: the standard library, courierd/domain and its auth and dossier packages,
// uuid.
package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// MaxSpanDays is the longest period a report covers: a year, leap day included.
const MaxSpanDays = 366

// Grouping is what a report's rows are per.
type Grouping string

const (
	ByPostOffice Grouping = "post_office"
	ByAgency     Grouping = "agency"
	ByProcedure  Grouping = "procedure"
	// ByCourier attributes an event to the courier of the stop it completes or fails:
	// pickups to the pickup's, handovers to the agency to the dropoff's, collections to
	// the collection's, deliveries and failed attempts to the delivery's. What no courier's
	// stop records (the agency's legs, a hold, a counter collection) falls in no row.
	ByCourier Grouping = "courier"
)

// Groupings lists every grouping.
var Groupings = []Grouping{ByPostOffice, ByAgency, ByProcedure, ByCourier}

// Query is a report's period, [From, To) as instants, its grouping, and the caller's scope.
type Query struct {
	From, To      time.Time
	By            Grouping
	PostOfficeIDs []uuid.UUID // nil: every office
	AgencyID      uuid.UUID   // uuid.Nil: every agency
}

// Leg counts the legs that ended in the period on time and late against their target.
type Leg struct {
	OnTime int
	Late   int
}

// FlowRow is the dossiers' flow of one group in the period: each count is of events the
// history holds in the period.
type FlowRow struct {
	Key                uuid.UUID
	PickedUp           int
	HandedToAgency     int
	ResultsCollected   int // results the post took from the agency
	Delivered          int // every way: by post, at the post office's counter, at the agency's desk
	DeliveredByPost    int
	CollectedAtCounter int
	CollectedAtAgency  int
	// The legs of the legal clock: the pickup leg (request to the agency's receipt, against
	// pickup_due), the agency's (receipt to the result or the refusal, against the
	// appointment date) and the delivery leg (result to the applicant, against delivery_due;
	// dossiers returned by post only).
	PickupLeg, AgencyLeg, DeliveryLeg Leg
	DeliveryFailed                    int
	FailedByReason                    map[string]int
	Held                              int // results put on hold: by the dispatcher, the applicant's choice, or the last failed attempt
	Returned                          int // held results never collected, sent back to the agency
	// PickupLeadMean and PickupLeadMedian are from the request to the pickup, over the
	// pickups in the period; nil when there were none.
	PickupLeadMean, PickupLeadMedian *time.Duration
	// Ratings is how many citizens rated their dossier in the period, RatingStars the sum
	// of their stars (1 to 5 each). A courier's are their deliveries'.
	Ratings, RatingStars int
}

// CourierRow is a courier's work in the period.
type CourierRow struct {
	CourierID   uuid.UUID
	StopsDone   int // pickups, dropoffs at the agency, collections and deliveries completed
	StopsFailed int // failed pickups and deliveries
	// OnRoute is, summed over the days, the time from the day's first breadcrumb to its last.
	OnRoute time.Duration
	// TravelledM is the length of the breadcrumbs' track, point to point; PlannedM the
	// published plans' routes for the courier on the period's days.
	TravelledM, PlannedM float64
}

// CashRow is the money a post office took on one day of Vietnam's calendar: couriers'
// collections at the door, by how they were paid, and the bank's transfers for its dossiers.
type CashRow struct {
	PostOfficeID uuid.UUID
	Day          time.Time // a civil date
	Collections  int
	CollectedVND int64 // everything couriers recorded at the door
	CashVND      int64 // the cash among it: what the couriers hand in at the counter
	TransferVND  int64 // paid at the door by transfer or QR
	BankVND      int64 // transfers the bank reported for the office's dossiers
	// HandedInVND is the cash counted at the office's counter for the day's collections,
	// against the lines it covered: ShortVND what it lacked, OverVND what it had beyond.
	HandedInVND, ShortVND, OverVND int64
	// RemittedVND is the agencies' shares of the office's dossiers transferred that day.
	RemittedVND int64
}

// MaxLateLegs is the most late legs one report lists: a period holding more is refused,
// to be asked for in shorter ones, rather than answered in part.
const MaxLateLegs = 10000

// LateLeg is a leg of the legal clock that ended in the period after its target, with the
// failed attempts on the way: the reasons the record gives for it.
type LateLeg struct {
	DossierID    uuid.UUID
	Receipt      dossier.ReceiptCode
	PostOfficeID uuid.UUID
	AgencyID     uuid.UUID
	Leg          string    // pickup, agency or delivery
	Due, Ended   time.Time // civil dates: the target and the day the leg ended
	Reasons      []string  // the failed pickups' or deliveries' reasons, oldest first
}

// Store computes reports.
type Store interface {
	Flow(ctx context.Context, q Query) ([]FlowRow, error)
	Couriers(ctx context.Context, q Query) ([]CourierRow, error)
	Cash(ctx context.Context, q Query) ([]CashRow, error)
	// LateLegs answers at most most+1 legs, in the order they ended.
	LateLegs(ctx context.Context, q Query, most int) ([]LateLeg, error)
}

// Service answers reports.
type Service struct{ store Store }

func NewService(store Store) *Service { return &Service{store: store} }

// Flow is the dossiers' flow in the civil days [from, to) of Vietnam's calendar, one row per
// group the caller may see that had any of it, in key order.
func (s *Service) Flow(ctx context.Context, from, to time.Time, by Grouping, office uuid.UUID) ([]FlowRow, error) {
	q, ok, err := query(ctx, from, to, by, office)
	if err != nil || !ok {
		return []FlowRow{}, err
	}
	return s.store.Flow(ctx, q)
}

// Couriers is the work of the couriers the caller may see in the civil days [from, to),
// one row per courier who did any, in id order.
func (s *Service) Couriers(ctx context.Context, from, to time.Time, office uuid.UUID) ([]CourierRow, error) {
	q, ok, err := query(ctx, from, to, ByCourier, office)
	if err != nil || !ok {
		return []CourierRow{}, err
	}
	return s.store.Couriers(ctx, q)
}

// Cash is the money the post offices the caller may see took in the civil days [from, to),
// per office and day, in that order.
func (s *Service) Cash(ctx context.Context, from, to time.Time, office uuid.UUID) ([]CashRow, error) {
	q, ok, err := query(ctx, from, to, ByPostOffice, office)
	if err != nil || !ok {
		return []CashRow{}, err
	}
	return s.store.Cash(ctx, q)
}

// LateLegs lists the legs that ended late in the civil days [from, to), of the dossiers
// the caller may see, in the order they ended; a period with more than MaxLateLegs is
// refused.
func (s *Service) LateLegs(ctx context.Context, from, to time.Time, office uuid.UUID) ([]LateLeg, error) {
	q, ok, err := query(ctx, from, to, ByPostOffice, office)
	if err != nil || !ok {
		return []LateLeg{}, err
	}
	legs, err := s.store.LateLegs(ctx, q, MaxLateLegs)
	if err == nil && len(legs) > MaxLateLegs {
		return nil, domain.Invalid("to", fmt.Sprintf("the period holds more than %d late legs: ask for a shorter one", MaxLateLegs))
	}
	return legs, err
}

// query checks a report's grouping, then its period and scope as Period does.
func query(ctx context.Context, from, to time.Time, by Grouping, office uuid.UUID) (Query, bool, error) {
	var p domain.Problems
	p.Check(slices.Contains(Groupings, by), "by", "must be post_office, agency, procedure or courier")
	return Period(ctx, &p, from, to, by, office)
}

// Period checks a report's period, with the problems its caller found in the rest of the
// query (a grouping of its own), and cuts it to the caller's scope, then to one post office
// when one is asked for (uuid.Nil: every office in scope); ok is false when the scope sees
// none of it. An office outside the scope leaves no office: no rows, as a dispatcher of
// another office sees. Reports kept beside this package (complaints) share it.
func Period(ctx context.Context, p *domain.Problems, from, to time.Time, by Grouping, office uuid.UUID) (Query, bool, error) {
	p.Check(from.Before(to), "to", "must be after from")
	p.Check(!to.After(from.AddDate(0, 0, MaxSpanDays)), "to", fmt.Sprintf("must be at most %d days after from", MaxSpanDays))
	if err := p.Err(); err != nil {
		return Query{}, false, err
	}
	q := Query{From: domain.Midnight(from), To: domain.Midnight(to), By: by}
	ok := auth.ScopeOf(auth.PrincipalFrom(ctx)).Narrow(&q.PostOfficeIDs, nil, &q.AgencyID)
	if ok && office != uuid.Nil {
		inScope := q.PostOfficeIDs == nil || slices.Contains(q.PostOfficeIDs, office)
		q.PostOfficeIDs = []uuid.UUID{}
		if inScope {
			q.PostOfficeIDs = append(q.PostOfficeIDs, office)
		}
	}
	return q, ok, nil
}
