package storage

import (
	"context"
	"time"

	"github.com/google/uuid"
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

func (s *PaymentStore) Record(ctx context.Context, p payment.Payment) (payment.Payment, bool, error) {
	row := paymentRow{ID: p.ID, DossierID: p.DossierID, TransactionID: p.TransactionID, AmountVND: p.AmountVND, PaidAt: p.PaidAt, ReceivedAt: p.ReceivedAt}
	res := s.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "transaction_id"}}, DoNothing: true}).Create(&row)
	if res.Error != nil {
		return payment.Payment{}, false, translate(res.Error, "payment")
	}
	if res.RowsAffected == 1 {
		return p, true, nil
	}
	var existing paymentRow
	if err := s.db.gorm.WithContext(ctx).Where("transaction_id = ?", p.TransactionID).Take(&existing).Error; err != nil {
		return payment.Payment{}, false, translate(err, "payment")
	}
	return existing.toDomain(), false, nil
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
	rows, err := s.db.gorm.WithContext(ctx).Raw(`WITH money AS (
			SELECT dossier_id, amount_vnd FROM cash_collections WHERE collected_at >= @from AND collected_at < @to
			UNION ALL
			SELECT dossier_id, amount_vnd FROM payments WHERE paid_at >= @from AND paid_at < @to)
		SELECT d.id, d.receipt_code, d.fee_vnd, d.postage_vnd, d.surcharge_vnd, sum(m.amount_vnd)
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
		if err := rows.Scan(&l.DossierID, &code, &l.FeeVND, &l.PostageVND, &l.SurchargeVND, &l.ReceivedVND); err != nil {
			return nil, translate(err, "payment")
		}
		l.Receipt = dossier.ReceiptCode(code).String()
		out = append(out, l)
	}
	return out, translate(rows.Err(), "payment")
}

func (s *PaymentStore) CashTaken(ctx context.Context, id uuid.UUID) (int64, error) {
	var taken int64
	err := s.db.gorm.WithContext(ctx).Raw(`SELECT coalesce(sum(amount_vnd), 0) FROM cash_collections WHERE dossier_id = ?`, id).Scan(&taken).Error
	return taken, translate(err, "cash ledger")
}
