package payment

import (
	"context"
	"fmt"
	"strings"
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
	// Receipts are the money received in the period, in the order it came (by its time, then
	// its id): the agency's share is counted receipt by receipt, each settled once.
	Receipts []Receipt
	// AllReceivedVND is everything ever received for the dossier, and AllRemittedVND every
	// share of it remitted so far, whatever the period: together they cap what is owed, so
	// the dossier's remitted shares never pass its fee.
	AllReceivedVND, AllRemittedVND int64
	RemittedVND                    int64 // of AgencyVND, what remittances settled already
	OwedVND                        int64 // what is still to remit for the period's receipts
}

// Receipt is one sum received for a dossier: a courier's cash line or a bank transfer.
type Receipt struct {
	ID        uuid.UUID
	Bank      bool // a transfer the bank reported; otherwise a courier's line
	AmountVND int64
	// RemittedVND is the agency's share a remittance settled of it; nil while none did.
	RemittedVND *int64
}

// Remittance is what the post owes an agency for fees it collected on the agency's behalf.
type Remittance struct {
	AgencyID    uuid.UUID
	From, To    time.Time
	Lines       []RemittanceLine
	ReceivedVND int64
	AgencyVND   int64
	RefundVND   int64
	RemittedVND int64
	OwedVND     int64
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
	if err := checkPeriod(from, to); err != nil {
		return Remittance{}, err
	}
	lines, err := s.store.Received(ctx, agency, from, to)
	if err != nil {
		return Remittance{}, err
	}
	return remittance(agency, from, to, lines)
}

func checkPeriod(from, to time.Time) error {
	if !from.Before(to) || to.Sub(from) > 93*24*time.Hour {
		return domain.Invalid("to", "must be after from, at most 93 days later")
	}
	return nil
}

// remittance is the report of the money received in the period: each line's share, what
// was remitted of it and what is still owed.
func remittance(agency uuid.UUID, from, to time.Time, lines []RemittanceLine) (Remittance, error) {
	r := Remittance{AgencyID: agency, From: from, To: to, Lines: lines}
	var t domain.Tally
	for i := range r.Lines {
		l := &r.Lines[i]
		through := t.Sum(l.EarlierVND, l.ReceivedVND)
		l.AgencyVND = min(through, l.FeeVND) - min(l.EarlierVND, l.FeeVND)
		due := l.FeeVND + l.PostageVND + l.SurchargeVND
		l.RefundVND = Balance{DueVND: due, PaidVND: through}.RefundVND() - Balance{DueVND: due, PaidVND: l.EarlierVND}.RefundVND()
		owed := l.owed()
		for i, rc := range l.Receipts {
			if rc.RemittedVND != nil {
				l.RemittedVND = t.Sum(l.RemittedVND, *rc.RemittedVND)
			}
			l.OwedVND = t.Sum(l.OwedVND, owed[i])
		}
		r.ReceivedVND = t.Sum(r.ReceivedVND, l.ReceivedVND)
		r.AgencyVND = t.Sum(r.AgencyVND, l.AgencyVND)
		r.RefundVND = t.Sum(r.RefundVND, l.RefundVND)
		r.RemittedVND = t.Sum(r.RemittedVND, l.RemittedVND)
		r.OwedVND = t.Sum(r.OwedVND, l.OwedVND)
	}
	return r, t.Err()
}

// owed is the agency's share still to remit of each of the line's receipts: a receipt's
// share is what it adds to the fee's part received so far (the fee is paid first); those
// remitted owe nothing; and the whole is held to what the dossier's fee still lacks of
// remittance, so a receipt synced late, dated before ones remitted, does not remit the
// fee a second time. Amounts are bounded (domain.MaxDueVND), so these sums stay in range.
func (l RemittanceLine) owed() []int64 {
	owed := make([]int64, len(l.Receipts))
	room := max(min(l.AllReceivedVND, l.FeeVND)-l.AllRemittedVND, 0)
	through := l.EarlierVND
	for i, rc := range l.Receipts {
		share := min(through+rc.AmountVND, l.FeeVND) - min(through, l.FeeVND)
		through += rc.AmountVND
		if rc.RemittedVND == nil {
			owed[i] = min(share, room)
			room -= owed[i]
		}
	}
	return owed
}

// CodeAlreadyRemitted: the lines named (or, when none is, the period's) have nothing left
// to remit: a remittance settled them already.
const CodeAlreadyRemitted domain.Code = "ALREADY_REMITTED"

// RemittanceRequest is a transfer to an agency an admin records: what was sent, the bank's
// reference, and the period's lines it settles (all those with something owed when
// DossierIDs is empty).
type RemittanceRequest struct {
	From, To      time.Time
	RemittedVND   int64
	BankReference string
	DossierIDs    []uuid.UUID
}

// Remitted is a recorded transfer to an agency and the receipts whose shares it settled.
type Remitted struct {
	ID            uuid.UUID
	AgencyID      uuid.UUID
	From, To      time.Time
	RemittedVND   int64
	BankReference string
	RecordedBy    uuid.UUID
	RemittedAt    time.Time
	Settled       []Settled
}

// Settled is the agency's share of one receipt, settled by a remittance.
type Settled struct {
	DossierID uuid.UUID
	Receipt   Receipt // its RemittedVND is the share settled
}

// Settle is what a remittance of amount settles among the period's lines (the dossiers of
// only, or every line with something owed): each receipt's share still owed, once. The
// amount must be their sum to the đồng, or the transfer and the record would disagree.
func Settle(report Remittance, only []uuid.UUID, amount int64) ([]Settled, error) {
	want := map[uuid.UUID]bool{}
	for _, id := range only {
		want[id] = true
	}
	var out []Settled
	var total int64
	for _, l := range report.Lines {
		if len(only) > 0 && !want[l.DossierID] {
			continue
		}
		delete(want, l.DossierID)
		if len(only) > 0 && l.OwedVND == 0 {
			return nil, domain.Errorf(CodeAlreadyRemitted, "the agency's share of %s in the period was remitted already", l.Receipt)
		}
		for i, owed := range l.owed() {
			if owed > 0 {
				rc := l.Receipts[i]
				rc.RemittedVND = &owed
				out = append(out, Settled{DossierID: l.DossierID, Receipt: rc})
				total += owed
			}
		}
	}
	for _, id := range only {
		if want[id] {
			return nil, domain.Invalid("dossier_ids", fmt.Sprintf("%s received nothing for the agency in the period", id))
		}
	}
	if total == 0 {
		return nil, domain.Errorf(CodeAlreadyRemitted, "nothing is owed to the agency for the period: it was remitted already")
	}
	if amount != total {
		return nil, domain.Errorf(CodeAmountMismatch, "the lines settled owe %d đồng, not %d", total, amount)
	}
	return out, nil
}

// RemitStore records remittances.
type RemitStore interface {
	// RecordRemittance runs decide in one transaction, holding the agency's lock (its
	// remittances are recorded one at a time), over the money received for it in [from,
	// to), then writes the remittance decide returns, with the audit entry of the caller's
	// act. A receipt settled meanwhile fails it with CodeAlreadyRemitted.
	RecordRemittance(ctx context.Context, agency uuid.UUID, from, to time.Time, decide func(lines []RemittanceLine) (Remitted, error)) (Remitted, error)
}

// Remit records a transfer to the agency for the period: admins only.
func (s *Service) Remit(ctx context.Context, agency uuid.UUID, req RemittanceRequest) (Remitted, error) {
	p := auth.PrincipalFrom(ctx)
	if !p.Is(auth.RoleAdmin) {
		return Remitted{}, domain.Errorf(domain.CodeForbidden, "only admins record a remittance")
	}
	var pr domain.Problems
	pr.CheckVND(req.RemittedVND, 1, domain.MaxTotalVND, "remitted_vnd")
	pr.Check(strings.TrimSpace(req.BankReference) != "" && len(req.BankReference) <= 64, "bank_reference", "is required, at most 64 characters")
	if err := pr.Err(); err != nil {
		return Remitted{}, err
	}
	if err := checkPeriod(req.From, req.To); err != nil {
		return Remitted{}, err
	}
	return s.store.RecordRemittance(ctx, agency, req.From, req.To, func(lines []RemittanceLine) (Remitted, error) {
		report, err := remittance(agency, req.From, req.To, lines)
		if err != nil {
			return Remitted{}, err
		}
		settled, err := Settle(report, req.DossierIDs, req.RemittedVND)
		return Remitted{ID: s.newID(), AgencyID: agency, From: req.From, To: req.To, RemittedVND: req.RemittedVND,
			BankReference: strings.TrimSpace(req.BankReference), RecordedBy: p.AccountID, RemittedAt: s.now(), Settled: settled}, err
	})
}
