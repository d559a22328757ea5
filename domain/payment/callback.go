package payment

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// CodeAmountMismatch: a payment whose amount is not what the dossier owes.
const CodeAmountMismatch domain.Code = "AMOUNT_MISMATCH"

// Payment is money a bank or gateway reports received for a dossier.
type Payment struct {
	ID            uuid.UUID
	DossierID     uuid.UUID
	TransactionID string // the bank's reference: a report of it again is the same payment
	AmountVND     int64
	PaidAt        time.Time
	ReceivedAt    time.Time
}

// Store is the persistence port of payments. Record writes the payment, or answers the one
// already recorded under its transaction id (recorded true only for the first).
type Store interface {
	Record(ctx context.Context, p Payment) (Payment, bool, error)
	Payments(ctx context.Context, dossier uuid.UUID) ([]Payment, error)
	// CashTaken is what couriers recorded taking for a dossier (cash_collections).
	CashTaken(ctx context.Context, dossier uuid.UUID) (int64, error)
	// Received is the money received in [from, to) for an agency's dossiers, per dossier:
	// cash couriers took and transfers the bank reported.
	Received(ctx context.Context, agency uuid.UUID, from, to time.Time) ([]RemittanceLine, error)
}

// Service is how payments are received.
type Service struct {
	store    Store
	account  Account
	dossiers *dossier.Service
	now      func() time.Time
	newID    func() uuid.UUID
}

func NewService(store Store, account Account, dossiers *dossier.Service, now func() time.Time, newID func() uuid.UUID) *Service {
	return &Service{store: store, account: account, dossiers: dossiers, now: now, newID: newID}
}

// Account is the collection account VietQR codes pay into.
func (s *Service) Account() Account { return s.account }

// Bill is what a dossier's applicant owes, what was paid (transfers the bank reported and
// money couriers took), and the VietQR code while nothing has been.
type Bill struct {
	FeeVND, PostageVND, SurchargeVND int64
	DueVND, PaidVND                  int64
	QR                               string // empty when nothing is left to pay or no account is set
}

// Bill is the dossier's bill, for whoever may see the dossier.
func (s *Service) Bill(ctx context.Context, id uuid.UUID) (Bill, error) {
	d, _, err := s.dossiers.Get(ctx, id)
	if err != nil {
		return Bill{}, err
	}
	paid, err := s.store.Payments(ctx, id)
	if err != nil {
		return Bill{}, err
	}
	b := Bill{FeeVND: d.FeeVND, PostageVND: d.PostageVND, SurchargeVND: d.SurchargeVND, DueVND: d.DueVND()}
	for _, p := range paid {
		b.PaidVND += p.AmountVND
	}
	cash, err := s.store.CashTaken(ctx, id)
	if err != nil {
		return Bill{}, err
	}
	b.PaidVND += cash
	if d.Payment != dossier.PayOnline && b.PaidVND == 0 {
		// A VietQR transfer must be of the exact amount: a code is for the whole bill.
		b.QR, err = s.account.QR(d.Receipt, b.DueVND)
	}
	return b, err
}

// Payments are a dossier's payments, for whoever may see the dossier.
func (s *Service) Payments(ctx context.Context, id uuid.UUID) ([]Payment, error) {
	if _, _, err := s.dossiers.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.store.Payments(ctx, id)
}

// Callback is what a bank or gateway reports (its signature checked by the caller).
type Callback struct {
	TransactionID string
	Reference     string // the transfer's content: it holds the receipt code
	AmountVND     int64
	PaidAt        time.Time
}

// Receive records a transfer reported by the bank: the reference must name a dossier by its
// receipt code and the amount be exactly what it owes (fee and postage). A report repeated
// (the bank retrying) answers the payment already recorded and records nothing.
func (s *Service) Receive(ctx context.Context, cb Callback) (Payment, bool, error) {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleSystem, Source: "payment-gateway"})
	var p domain.Problems
	p.Check(cb.TransactionID != "" && len(cb.TransactionID) <= 100, "transaction_id", "is required, at most 100 characters")
	p.Check(cb.AmountVND > 0, "amount_vnd", "must be a positive whole number of dong")
	p.Check(!cb.PaidAt.IsZero(), "paid_at", "is required")
	code, err := receiptIn(cb.Reference)
	p.Check(err == nil, "reference", "names no receipt code")
	if err := p.Err(); err != nil {
		return Payment{}, false, err
	}
	list, err := s.dossiers.List(ctx, dossier.Filter{Receipt: code}, "", domain.Page{Limit: 1})
	if err != nil {
		return Payment{}, false, err
	}
	if len(list.Items) == 0 {
		return Payment{}, false, domain.Errorf(domain.CodeNotFound, "no dossier has the receipt code in this reference")
	}
	d := list.Items[0]
	if due := d.DueVND(); cb.AmountVND != due {
		return Payment{}, false, domain.Errorf(CodeAmountMismatch, "the dossier owes %d VND, the transfer brought %d", due, cb.AmountVND)
	}
	got, recorded, err := s.store.Record(ctx, Payment{ID: s.newID(), DossierID: d.ID, TransactionID: cb.TransactionID, AmountVND: cb.AmountVND,
		PaidAt: cb.PaidAt.UTC(), ReceivedAt: s.now().UTC()})
	if err == nil && !recorded && (got.DossierID != d.ID || got.AmountVND != cb.AmountVND) {
		return Payment{}, false, domain.Errorf(domain.CodeConflict, "this transaction was reported before with another dossier or amount")
	}
	return got, recorded, err
}

// receiptIn finds the receipt code in a transfer's content, which banks pass on in capitals
// and with other words around it ("HS 7K3M-9QX2-D", "THANH TOAN 7K3M9QX2D").
func receiptIn(reference string) (dossier.ReceiptCode, error) {
	words := strings.Fields(reference)
	for _, w := range words {
		if code, err := dossier.ParseReceiptCode(w); err == nil {
			return code, nil
		}
	}
	return dossier.ParseReceiptCode(reference)
}
