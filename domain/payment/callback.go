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

const (
	// CodeAmountMismatch: a payment whose amount is not what the dossier still owes.
	CodeAmountMismatch domain.Code = "AMOUNT_MISMATCH"
	// CodeAlreadyPaid: a payment for a dossier that owes nothing more. The bank is told, so
	// it returns the transfer; the dossier is never credited twice.
	CodeAlreadyPaid domain.Code = "ALREADY_PAID"
)

// PaidAtSkew is how far past the server's clock a bank's paid_at may lie, and how far
// before the dossier's creation: banks' clocks drift, but a transfer cannot be made in
// the future or before the receipt code it names existed.
const PaidAtSkew = 5 * time.Minute

// Payment is money a bank or gateway reports received for a dossier.
type Payment struct {
	ID            uuid.UUID
	DossierID     uuid.UUID
	TransactionID string // the bank's reference: a report of it again is the same payment
	AmountVND     int64
	PaidAt        time.Time
	ReceivedAt    time.Time
}

// Balance is what a dossier owes and what was paid for it, transfers and couriers' cash.
type Balance struct{ DueVND, PaidVND int64 }

// OwedVND is what is still to pay.
func (b Balance) OwedVND() int64 { return max(b.DueVND-b.PaidVND, 0) }

// RefundVND is what was paid beyond the bill (cash a courier took for a dossier already
// paid): kept, since the money was taken, and owed back to the applicant, never credited.
func (b Balance) RefundVND() int64 { return max(b.PaidVND-b.DueVND, 0) }

// RecordTx is the transaction a payment is recorded in. It holds its dossier's lock, which
// every payment and every courier's collection for the dossier takes too: concurrent
// reports for one dossier settle one after the other, each judged on the balance the last
// one left.
type RecordTx interface {
	// LockDue locks the dossier's row until the transaction ends and reads what it is due.
	LockDue(ctx context.Context, dossier uuid.UUID) (int64, error)
	// PaymentByTransaction is the payment recorded under a bank's transaction id, if any.
	PaymentByTransaction(ctx context.Context, transactionID string) (Payment, bool, error)
	// PaidVND is what was paid for a dossier: transfers and what couriers took.
	PaidVND(ctx context.Context, dossier uuid.UUID) (int64, error)
	// InsertPayment writes p, unless a payment with its transaction id exists (recorded
	// meanwhile under another dossier's lock): then it writes nothing and says so.
	InsertPayment(ctx context.Context, p Payment) (inserted bool, err error)
	Commit() error
	// Rollback ends the transaction unless Commit did.
	Rollback()
}

// Store is the persistence port of payments.
type Store interface {
	// Begin starts the transaction a payment is recorded in (see RecordTx).
	Begin(ctx context.Context) (RecordTx, error)
	Payments(ctx context.Context, dossier uuid.UUID) ([]Payment, error)
	// PaidVND is what was paid for a dossier: transfers and what couriers took.
	PaidVND(ctx context.Context, dossier uuid.UUID) (int64, error)
	// Received is the money received in [from, to) for an agency's dossiers, per dossier:
	// cash couriers took and transfers the bank reported.
	Received(ctx context.Context, agency uuid.UUID, from, to time.Time) ([]RemittanceLine, error)
	RemitStore
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
// money couriers took, counted up to what is due), what was paid beyond it and is owed
// back, and the VietQR code while nothing has been paid.
type Bill struct {
	FeeVND, PostageVND, SurchargeVND int64
	DueVND, PaidVND, RefundVND       int64
	QR                               string // empty when nothing is left to pay or no account is set
}

// Bill is the dossier's bill, for whoever may see the dossier.
func (s *Service) Bill(ctx context.Context, id uuid.UUID) (Bill, error) {
	d, _, err := s.dossiers.Get(ctx, id)
	if err != nil {
		return Bill{}, err
	}
	paid, err := s.store.PaidVND(ctx, id)
	if err != nil {
		return Bill{}, err
	}
	due := d.DueVND()
	b := Bill{FeeVND: d.FeeVND, PostageVND: d.PostageVND, SurchargeVND: d.SurchargeVND, DueVND: due,
		PaidVND: min(paid, due), RefundVND: Balance{DueVND: due, PaidVND: paid}.RefundVND()}
	if d.Payment != dossier.PayOnline && paid == 0 {
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
// receipt code, the amount be exactly what it still owes (fee, postage and surcharge, less
// what a courier took), and paid_at lie between the dossier's creation and now. A dossier
// that owes nothing refuses it (ALREADY_PAID). A report repeated (the bank retrying)
// answers the payment already recorded and records nothing. A bank's client reports as
// itself, and finds only its agency's dossiers (another's is NOT_FOUND, as an unknown
// code); the signed callback speaks for the gateway and finds any.
func (s *Service) Receive(ctx context.Context, cb Callback) (Payment, bool, error) {
	if !auth.PrincipalFrom(ctx).HasScope(auth.ScopePaymentsReport) {
		ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleSystem, Source: "payment-gateway"})
	}
	now := s.now()
	var p domain.Problems
	p.Check(cb.TransactionID != "" && len(cb.TransactionID) <= 100, "transaction_id", "is required, at most 100 characters")
	p.CheckVND(cb.AmountVND, 1, domain.MaxDueVND, "amount_vnd")
	p.Check(!cb.PaidAt.IsZero(), "paid_at", "is required")
	p.Check(!cb.PaidAt.After(now.Add(PaidAtSkew)), "paid_at", "is in the future")
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
	if cb.PaidAt.Before(d.CreatedAt.Add(-PaidAtSkew)) {
		return Payment{}, false, domain.Invalid("paid_at", "is before the dossier was created")
	}
	got, recorded, err := s.record(ctx, Payment{ID: s.newID(), DossierID: d.ID, TransactionID: cb.TransactionID, AmountVND: cb.AmountVND,
		PaidAt: cb.PaidAt.UTC(), ReceivedAt: now.UTC()})
	if err == nil && !recorded && (got.DossierID != d.ID || got.AmountVND != cb.AmountVND) {
		return Payment{}, false, domain.Errorf(domain.CodeConflict, "this transaction was reported before with another dossier or amount")
	}
	return got, recorded, err
}

// record writes p under its dossier's lock: when p's transaction id was recorded before it
// answers that payment (recorded false) and writes nothing; else p is judged against the
// dossier's balance as it stands, and written only if admitted.
func (s *Service) record(ctx context.Context, p Payment) (Payment, bool, error) {
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return Payment{}, false, err
	}
	defer tx.Rollback()
	due, err := tx.LockDue(ctx, p.DossierID)
	if err != nil {
		return Payment{}, false, err
	}
	if earlier, found, err := tx.PaymentByTransaction(ctx, p.TransactionID); err != nil || found {
		return earlier, false, err
	}
	paid, err := tx.PaidVND(ctx, p.DossierID)
	if err != nil {
		return Payment{}, false, err
	}
	if err := admit(Balance{DueVND: due, PaidVND: paid}, p.AmountVND); err != nil {
		return Payment{}, false, err
	}
	inserted, err := tx.InsertPayment(ctx, p)
	if err != nil {
		return Payment{}, false, err
	}
	if !inserted {
		// The same transaction was recorded meanwhile under another dossier's lock.
		earlier, _, err := tx.PaymentByTransaction(ctx, p.TransactionID)
		return earlier, false, err
	}
	if err := tx.Commit(); err != nil {
		return Payment{}, false, err
	}
	return p, true, nil
}

// admit judges a transfer of amount against a dossier's balance: it must pay exactly what
// is still owed, and nothing is owed once the bill is paid.
func admit(b Balance, amount int64) error {
	switch owed := b.OwedVND(); {
	case owed == 0:
		return domain.Errorf(CodeAlreadyPaid, "the dossier owes nothing more; the transfer of %d VND is not credited", amount)
	case amount != owed:
		return domain.Errorf(CodeAmountMismatch, "the dossier owes %d VND, the transfer brought %d", owed, amount)
	}
	return nil
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
