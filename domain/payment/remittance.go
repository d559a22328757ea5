package payment

import (
	"context"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// RemittanceLine is what was received for one of the agency's dossiers in the period.
type RemittanceLine struct {
	DossierID  uuid.UUID
	Receipt    string
	FeeVND     int64 // the agency's fee
	PostageVND int64 // the post's charge
	// SurchargeVND is the post's charge for collecting the fee on the agency's behalf.
	SurchargeVND int64
	ReceivedVND  int64 // cash taken by couriers and transfers reported by the bank
	// EarlierVND is what was received for the dossier before the period: the shares are
	// of what it adds, so a fee paid in an earlier period is not remitted again.
	EarlierVND int64
	AgencyVND  int64 // the agency's share of it: the fee first, then postage
	// RefundVND is the part of it beyond what the dossier owed, owed back to the applicant.
	RefundVND int64
}

// Remittance is what the post owes an agency for fees it collected on the agency's behalf.
type Remittance struct {
	AgencyID    uuid.UUID
	From, To    time.Time
	Lines       []RemittanceLine
	ReceivedVND int64
	AgencyVND   int64
	RefundVND   int64
}

// Remittance is the agency's report for [from, to): admins, and the agency's own clerks.
func (s *Service) Remittance(ctx context.Context, agency uuid.UUID, from, to time.Time) (Remittance, error) {
	p := auth.PrincipalFrom(ctx)
	if !p.Is(auth.RoleAdmin) && !(p.Is(auth.RoleClerk) && p.AgencyID == agency) {
		if p.Is(auth.RoleClerk) {
			return Remittance{}, domain.Errorf(domain.CodeNotFound, "no such agency")
		}
		return Remittance{}, domain.Errorf(domain.CodeForbidden, "only the agency's clerks and admins read its remittance")
	}
	if !from.Before(to) || to.Sub(from) > 93*24*time.Hour {
		return Remittance{}, domain.Invalid("to", "must be after from, at most 93 days later")
	}
	lines, err := s.store.Received(ctx, agency, from, to)
	if err != nil {
		return Remittance{}, err
	}
	r := Remittance{AgencyID: agency, From: from, To: to, Lines: lines}
	var t domain.Tally
	for i := range r.Lines {
		l := &r.Lines[i]
		through := t.Sum(l.EarlierVND, l.ReceivedVND)
		l.AgencyVND = min(through, l.FeeVND) - min(l.EarlierVND, l.FeeVND)
		due := l.FeeVND + l.PostageVND + l.SurchargeVND
		l.RefundVND = Balance{DueVND: due, PaidVND: through}.RefundVND() - Balance{DueVND: due, PaidVND: l.EarlierVND}.RefundVND()
		r.ReceivedVND = t.Sum(r.ReceivedVND, l.ReceivedVND)
		r.AgencyVND = t.Sum(r.AgencyVND, l.AgencyVND)
		r.RefundVND = t.Sum(r.RefundVND, l.RefundVND)
	}
	return r, t.Err()
}
