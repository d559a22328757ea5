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
	db := s.db.gorm.WithContext(ctx)
	if err := mustExist(db, "agencies", agency, "agency"); err != nil {
		return nil, err
	}
	return received(db, agency, from, to)
}

// received is the money received in [from, to) for the agency's dossiers, receipt by
// receipt, with what each dossier received before and ever, and what was remitted of it.
func received(db *gorm.DB, agency uuid.UUID, from, to time.Time) ([]payment.RemittanceLine, error) {
	// The dossiers that received money in the period, with all they ever received: what
	// came earlier decides how much of the period's money is the agency's, and all of it
	// caps what may still be remitted.
	rows, err := db.Raw(`WITH period AS (
			SELECT dossier_id FROM cash_collections WHERE collected_at >= @from AND collected_at < @to
			UNION
			SELECT dossier_id FROM payments WHERE paid_at >= @from AND paid_at < @to),
		money AS (
			SELECT c.dossier_id, c.mutation_id AS id, false AS bank, c.amount_vnd, c.collected_at AS at FROM cash_collections c JOIN period USING (dossier_id)
			UNION ALL
			SELECT p.dossier_id, p.id, true, p.amount_vnd, p.paid_at FROM payments p JOIN period USING (dossier_id))
		SELECT d.id, d.receipt_code, d.fee_vnd, d.postage_vnd, d.surcharge_vnd, m.id, m.bank, m.amount_vnd,
			CASE WHEN m.at < @from THEN -1 WHEN m.at < @to THEN 0 ELSE 1 END, coalesce(rc.agency_vnd, rp.agency_vnd),
			(SELECT coalesce(sum(x.agency_vnd), 0) FROM remitted_money x WHERE x.dossier_id = d.id)
		FROM money m JOIN dossiers d ON d.id = m.dossier_id
			LEFT JOIN remitted_money rc ON NOT m.bank AND rc.collection_id = m.id
			LEFT JOIN remitted_money rp ON m.bank AND rp.payment_id = m.id
		WHERE d.agency_id = @agency
		ORDER BY d.receipt_code, m.at, m.id`, map[string]any{"from": from.UTC(), "to": to.UTC(), "agency": agency}).Rows()
	if err != nil {
		return nil, translate(err, "payment")
	}
	defer rows.Close()
	var out []payment.RemittanceLine
	for rows.Next() {
		var l payment.RemittanceLine
		var code string
		var rc payment.Receipt
		var when int
		if err := rows.Scan(&l.DossierID, &code, &l.FeeVND, &l.PostageVND, &l.SurchargeVND, &rc.ID, &rc.Bank, &rc.AmountVND, &when,
			&rc.RemittedVND, &l.AllRemittedVND); err != nil {
			return nil, translate(err, "payment")
		}
		if n := len(out); n == 0 || out[n-1].DossierID != l.DossierID {
			l.Receipt = dossier.ReceiptCode(code).String()
			out = append(out, l)
		}
		last := &out[len(out)-1]
		last.AllReceivedVND += rc.AmountVND
		switch when {
		case -1:
			last.EarlierVND += rc.AmountVND
		case 0:
			last.ReceivedVND += rc.AmountVND
			last.Receipts = append(last.Receipts, rc)
		}
	}
	return out, translate(rows.Err(), "payment")
}

type remittanceRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	AgencyID      uuid.UUID
	PeriodFrom    time.Time `gorm:"type:date"`
	PeriodTo      time.Time `gorm:"type:date"`
	RemittedVND   int64     `gorm:"column:remitted_vnd"`
	BankReference string
	RecordedBy    uuid.UUID
	RemittedAt    time.Time
}

func (remittanceRow) TableName() string { return "remittances" }

type remittedMoneyRow struct {
	RemittanceID uuid.UUID
	DossierID    uuid.UUID
	CollectionID *uuid.UUID
	PaymentID    *uuid.UUID
	AgencyVND    int64 `gorm:"column:agency_vnd"`
}

func (remittedMoneyRow) TableName() string { return "remitted_money" }

// RecordRemittance implements payment.RemitStore.
func (s *PaymentStore) RecordRemittance(ctx context.Context, agency uuid.UUID, from, to time.Time, decide func([]payment.RemittanceLine) (payment.Remitted, error)) (payment.Remitted, error) {
	var r payment.Remitted
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var found struct{ ID uuid.UUID }
		if res := tx.Raw(`SELECT id FROM agencies WHERE id = ? FOR UPDATE`, agency).Scan(&found); res.Error != nil || res.RowsAffected == 0 {
			return orNotFound(res, "agency")
		}
		lines, err := received(tx, agency, from, to)
		if err != nil {
			return err
		}
		if r, err = decide(lines); err != nil {
			return err
		}
		row := remittanceRow{ID: r.ID, AgencyID: r.AgencyID, PeriodFrom: from, PeriodTo: to, RemittedVND: r.RemittedVND,
			BankReference: r.BankReference, RecordedBy: r.RecordedBy, RemittedAt: r.RemittedAt}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		money := make([]remittedMoneyRow, len(r.Settled))
		for i, st := range r.Settled {
			money[i] = remittedMoneyRow{RemittanceID: r.ID, DossierID: st.DossierID, AgencyVND: *st.Receipt.RemittedVND}
			if st.Receipt.Bank {
				money[i].PaymentID = &st.Receipt.ID
			} else {
				money[i].CollectionID = &st.Receipt.ID
			}
		}
		if err := tx.Create(&money).Error; err != nil {
			err = settledOnce(err, "remitted_money_collection_once", payment.CodeAlreadyRemitted, "a share was remitted meanwhile")
			return settledOnce(err, "remitted_money_payment_once", payment.CodeAlreadyRemitted, "a share was remitted meanwhile")
		}
		return writeAudit(tx, entryFromContext(ctx, r.RemittedAt, "agency.remit", "agency", agency.String(), map[string]any{
			"remittance_id": r.ID, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "remitted_vnd": r.RemittedVND,
			"bank_reference": r.BankReference, "receipts": len(r.Settled)}))
	})
	return r, translate(err, "remittance")
}

func (s *PaymentStore) PaidVND(ctx context.Context, id uuid.UUID) (int64, error) {
	return paidVND(s.db.gorm.WithContext(ctx), id)
}

func paidVND(db *gorm.DB, id uuid.UUID) (int64, error) {
	var paid int64
	err := db.Raw(paidSQL, id).Row().Scan(&paid)
	return paid, translate(err, "payment")
}
