// Package report answers the post's reports over a period, computed from the record itself
// (the dossiers, their history and their field tasks): no second bookkeeping to drift from
// it. Every report is cut to what the caller may see, like every list.
//
// Imports allowed: the standard library, courierd/domain and its auth package, uuid.
package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// MaxSpanDays is the longest period a report covers: a year, leap day included.
const MaxSpanDays = 366

// Grouping is what a report's rows are per.
type Grouping string

const (
	ByPostOffice Grouping = "post_office"
	ByAgency     Grouping = "agency"
	ByProcedure  Grouping = "procedure"
	// ByCourier attributes what a courier did to the courier of the stop it completed:
	// pickups to the pickup's, collections to the collection's, deliveries and failed
	// attempts to the delivery's. What no courier does (the agency's legs, a hold, a
	// counter collection) falls in no courier's row.
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
}

// Store computes reports.
type Store interface {
	Flow(ctx context.Context, q Query) ([]FlowRow, error)
}

// Service answers reports.
type Service struct{ store Store }

func NewService(store Store) *Service { return &Service{store: store} }

// Flow is the dossiers' flow in the civil days [from, to) of Vietnam's calendar, one row per
// group the caller may see that had any of it, in key order.
func (s *Service) Flow(ctx context.Context, from, to time.Time, by Grouping) ([]FlowRow, error) {
	q, ok, err := query(ctx, from, to, by)
	if err != nil || !ok {
		return []FlowRow{}, err
	}
	return s.store.Flow(ctx, q)
}

// query checks a report's period and grouping and cuts it to the caller's scope; ok is
// false when the scope sees none of it (a courier, a citizen).
func query(ctx context.Context, from, to time.Time, by Grouping) (Query, bool, error) {
	var p domain.Problems
	p.Check(slices.Contains(Groupings, by), "by", "must be post_office, agency, procedure or courier")
	p.Check(from.Before(to), "to", "must be after from")
	p.Check(!to.After(from.AddDate(0, 0, MaxSpanDays)), "to", fmt.Sprintf("must be at most %d days after from", MaxSpanDays))
	if err := p.Err(); err != nil {
		return Query{}, false, err
	}
	q := Query{From: domain.Midnight(from), To: domain.Midnight(to), By: by}
	ok := auth.ScopeOf(auth.PrincipalFrom(ctx)).Narrow(&q.PostOfficeIDs, nil, &q.AgencyID)
	return q, ok, nil
}
