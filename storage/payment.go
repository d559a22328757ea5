package storage

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain/dossier"
	"courierd/domain/payment"
)

// PaymentStore keeps the payments banks report.
type PaymentStore struct{ db *DB }

func NewPaymentStore(db *DB) *PaymentStore { return &PaymentStore{db: db} }

type paymentRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	DossierID     uuid.UUID
	TransactionID string
	AmountVND     int64
	PaidAt        time.Time
	ReceivedAt    time.Time
}

func (paymentRow) TableName() string { return "payments" }

func (r paymentRow) toDomain() payment.Payment {
	return payment.Payment{ID: r.ID, DossierID: r.DossierID, TransactionID: r.TransactionID, AmountVND: r.AmountVND, PaidAt: r.PaidAt, ReceivedAt: r.ReceivedAt}
}

// paidSQL is what was paid for dossier $1, transfers and couriers' cash, summed as numeric
// (a sum past bigint fails to scan rather than wrapping).
const paidSQL = `SELECT (SELECT coalesce(sum(amount_vnd), 0) FROM payments WHERE dossier_id = $1)
	+ (SELECT coalesce(sum(amount_vnd), 0) FROM cash_collections WHERE dossier_id = $1)`

// Begin starts a payment's transaction. It makes no dossier change, so it has no jobs and
// no queue.
func (s *PaymentStore) Begin(ctx context.Context) (payment.RecordTx, error) {
	return s.db.begin(ctx, nil)
}

// LockDue implements payment.RecordTx. The dossier's row lock is the one couriers'
// collections take in a push: payments and collections for one dossier are judged one at
// a time, each seeing the last.
func (t *Tx) LockDue(ctx context.Context, id uuid.UUID) (int64, error) {
	var due int64
	err := t.tx.WithContext(ctx).Raw(`SELECT fee_vnd + postage_vnd + surcharge_vnd FROM dossiers WHERE id = ? FOR UPDATE`, id).Row().Scan(&due)
	return due, translate(err, "payment")
}

// PaymentByTransaction implements payment.RecordTx.
func (t *Tx) PaymentByTransaction(ctx context.Context, id string) (payment.Payment, bool, error) {
	var rows []paymentRow
	if err := t.tx.WithContext(ctx).Where("transaction_id = ?", id).Limit(1).Find(&rows).Error; err != nil || len(rows) == 0 {
		return payment.Payment{}, false, translate(err, "payment")
	}
	return rows[0].toDomain(), true, nil
}

// PaidVND implements payment.RecordTx.
func (t *Tx) PaidVND(ctx context.Context, id uuid.UUID) (int64, error) {
	return paidVND(t.tx.WithContext(ctx), id)
}

// InsertPayment implements payment.RecordTx.
func (t *Tx) InsertPayment(ctx context.Context, p payment.Payment) (bool, error) {
	row := paymentRow{ID: p.ID, DossierID: p.DossierID, TransactionID: p.TransactionID, AmountVND: p.AmountVND, PaidAt: p.PaidAt, ReceivedAt: p.ReceivedAt}
	res := t.tx.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "transaction_id"}}, DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, translate(res.Error, "payment")
	}
	return res.RowsAffected == 1, nil
}

func (s *PaymentStore) Payments(ctx context.Context, dossier uuid.UUID) ([]payment.Payment, error) {
	var rows []paymentRow
	if err := s.db.gorm.WithContext(ctx).Where("dossier_id = ?", dossier).Order("paid_at, id").Find(&rows).Error; err != nil {
		return nil, translate(err, "payment")
	}
	out := make([]payment.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

func (s *PaymentStore) Received(ctx context.Context, agency uuid.UUID, from, to time.Time) ([]payment.RemittanceLine, error) {
	if err := mustExist(s.db.gorm.WithContext(ctx), "agencies", agency, "agency"); err != nil {
		return nil, err
	}
	// The dossiers that received money in the period, with all they received before its end:
	// what came earlier decides how much of the period's money is the agency's.
	rows, err := s.db.gorm.WithContext(ctx).Raw(`WITH period AS (
			SELECT dossier_id FROM cash_collections WHERE collected_at >= @from AND collected_at < @to
			UNION
			SELECT dossier_id FROM payments WHERE paid_at >= @from AND paid_at < @to),
		money AS (
			SELECT c.dossier_id, c.amount_vnd, c.collected_at AS at FROM cash_collections c JOIN period USING (dossier_id) WHERE c.collected_at < @to
			UNION ALL
			SELECT p.dossier_id, p.amount_vnd, p.paid_at FROM payments p JOIN period USING (dossier_id) WHERE p.paid_at < @to)
		SELECT d.id, d.receipt_code, d.fee_vnd, d.postage_vnd, d.surcharge_vnd,
			coalesce(sum(m.amount_vnd) FILTER (WHERE m.at >= @from), 0), coalesce(sum(m.amount_vnd) FILTER (WHERE m.at < @from), 0)
		FROM money m JOIN dossiers d ON d.id = m.dossier_id
		WHERE d.agency_id = @agency
		GROUP BY d.id, d.receipt_code, d.fee_vnd, d.postage_vnd, d.surcharge_vnd
		ORDER BY d.receipt_code`, map[string]any{"from": from.UTC(), "to": to.UTC(), "agency": agency}).Rows()
	if err != nil {
		return nil, translate(err, "payment")
	}
	defer rows.Close()
	var out []payment.RemittanceLine
	for rows.Next() {
		var l payment.RemittanceLine
		var code string
		if err := rows.Scan(&l.DossierID, &code, &l.FeeVND, &l.PostageVND, &l.SurchargeVND, &l.ReceivedVND, &l.EarlierVND); err != nil {
			return nil, translate(err, "payment")
		}
		l.Receipt = dossier.ReceiptCode(code).String()
		out = append(out, l)
	}
	return out, translate(rows.Err(), "payment")
}

func (s *PaymentStore) PaidVND(ctx context.Context, id uuid.UUID) (int64, error) {
	return paidVND(s.db.gorm.WithContext(ctx), id)
}

func paidVND(db *gorm.DB, id uuid.UUID) (int64, error) {
	var paid int64
	err := db.Raw(paidSQL, id).Row().Scan(&paid)
	return paid, translate(err, "payment")
}
