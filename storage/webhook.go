package storage

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/dossier"
	"courierd/domain/webhook"
)

// WebhookStore keeps subscribers and deliveries; a delivery's job is enqueued with it.
type WebhookStore struct {
	db    *DB
	queue *Queue
}

func NewWebhookStore(db *DB, queue *Queue) *WebhookStore { return &WebhookStore{db: db, queue: queue} }

type subscriberRow struct {
	ID   uuid.UUID `gorm:"primaryKey"`
	Name string
	URL  string
	// Secret is the plain secret of rows the previous release wrote, read until they are
	// sealed, never written. The release after this one stops reading it; the one after
	// that drops the column (the contract step), when no release that reads it may run.
	Secret       *string `gorm:"->"`
	SecretSealed *string
	AgencyID     *uuid.UUID
	Events       string // comma-separated; empty: every event
	ClientID     *uuid.UUID
	Active       bool
	CreatedAt    time.Time
}

func (subscriberRow) TableName() string { return "webhook_subscribers" }

func (r subscriberRow) toDomain() webhook.Subscriber {
	s := webhook.Subscriber{ID: r.ID, Name: r.Name, URL: r.URL, AgencyID: derefUUID(r.AgencyID), ClientID: derefUUID(r.ClientID), Active: r.Active, CreatedAt: r.CreatedAt}
	if r.Secret != nil {
		s.Secret = *r.Secret
	}
	if r.SecretSealed != nil {
		s.SealedSecret = *r.SecretSealed
	}
	if r.Events != "" {
		for _, e := range strings.Split(r.Events, ",") {
			s.Events = append(s.Events, dossier.Event(e))
		}
	}
	return s
}

type deliveryRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	SubscriberID uuid.UUID
	DossierID    uuid.UUID
	Event        string
	Body         []byte `gorm:"type:jsonb"`
	Status       string
	Attempts     int
	LastStatus   int
	LastError    string
	CreatedAt    time.Time
	DeliveredAt  *time.Time
}

func (deliveryRow) TableName() string { return "webhook_deliveries" }

func (r deliveryRow) toDomain() webhook.Delivery {
	return webhook.Delivery{ID: r.ID, SubscriberID: r.SubscriberID, DossierID: r.DossierID, Event: dossier.Event(r.Event), Body: r.Body,
		Status: webhook.DeliveryStatus(r.Status), Attempts: r.Attempts, LastStatus: r.LastStatus, LastError: r.LastError,
		CreatedAt: r.CreatedAt, DeliveredAt: r.DeliveredAt}
}

func (s *WebhookStore) CreateSubscriber(ctx context.Context, sub webhook.Subscriber, entry audit.Entry) error {
	row := subscriberRow{ID: sub.ID, Name: sub.Name, URL: sub.URL, SecretSealed: &sub.SealedSecret, AgencyID: nilUUID(sub.AgencyID), ClientID: nilUUID(sub.ClientID),
		Active: sub.Active, CreatedAt: sub.CreatedAt.UTC()}
	names := make([]string, len(sub.Events))
	for i, e := range sub.Events {
		names[i] = string(e)
	}
	row.Events = strings.Join(names, ",")
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error }, entry), "webhook subscriber")
}

func (s *WebhookStore) Subscribers(ctx context.Context) ([]webhook.Subscriber, error) {
	var rows []subscriberRow
	if err := s.db.gorm.WithContext(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, translate(err, "webhook subscriber")
	}
	out := make([]webhook.Subscriber, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

func (s *WebhookStore) Subscriber(ctx context.Context, id uuid.UUID) (webhook.Subscriber, error) {
	var row subscriberRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return webhook.Subscriber{}, translate(err, "webhook subscriber")
	}
	return row.toDomain(), nil
}

func (s *WebhookStore) ListSubscribers(ctx context.Context, client uuid.UUID, page domain.Page) (domain.List[webhook.Subscriber], error) {
	q := whereSet(s.db.gorm.WithContext(ctx).Model(&subscriberRow{}), "client_id", client)
	return pageOf(q, "created_at, id", page, "webhook subscriber", infallible(subscriberRow.toDomain))
}

func (s *WebhookStore) Deactivate(ctx context.Context, id uuid.UUID, entry audit.Entry) error {
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&subscriberRow{}).Where("id = ?", id).Update("active", false).Error
	}, entry), "webhook subscriber")
}

// ReplaceSecret names the plain column only for a row that still holds it, for the same
// reason.
func (s *WebhookStore) ReplaceSecret(ctx context.Context, id uuid.UUID, was, sealed string) error {
	q := s.db.gorm.WithContext(ctx)
	if was == "" {
		q = q.Exec(`UPDATE webhook_subscribers SET secret_sealed = ?, secret = NULL WHERE id = ? AND secret_sealed IS NULL`, sealed, id)
	} else {
		q = q.Exec(`UPDATE webhook_subscribers SET secret_sealed = ? WHERE id = ? AND secret_sealed = ?`, sealed, id, was)
	}
	return translate(q.Error, "webhook subscriber")
}

func (s *WebhookStore) Enqueue(ctx context.Context, deliveries []webhook.Delivery) error {
	if len(deliveries) == 0 {
		return nil
	}
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		var args []river.JobArgs
		for _, d := range deliveries {
			row := deliveryRow{ID: d.ID, SubscriberID: d.SubscriberID, DossierID: d.DossierID, Event: string(d.Event), Body: d.Body,
				Status: string(d.Status), CreatedAt: d.CreatedAt.UTC()}
			res := tx.Exec(`INSERT INTO webhook_deliveries (id, subscriber_id, dossier_id, event, body, status, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, row.ID, row.SubscriberID, row.DossierID, row.Event, row.Body, row.Status, row.CreatedAt)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				args = append(args, DeliveryArgs{DeliveryID: d.ID})
			}
		}
		sqlTx, _ := tx.Statement.ConnPool.(*sql.Tx)
		return s.queue.insertArgs(ctx, sqlTx, args)
	}), "webhook delivery")
}

func (s *WebhookStore) Delivery(ctx context.Context, id uuid.UUID) (webhook.Delivery, webhook.Subscriber, error) {
	var d deliveryRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return webhook.Delivery{}, webhook.Subscriber{}, translate(err, "webhook delivery")
	}
	var sub subscriberRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", d.SubscriberID).Take(&sub).Error; err != nil {
		return webhook.Delivery{}, webhook.Subscriber{}, translate(err, "webhook subscriber")
	}
	return d.toDomain(), sub.toDomain(), nil
}

func (s *WebhookStore) Attempted(ctx context.Context, id uuid.UUID, status webhook.DeliveryStatus, httpStatus int, why string, at time.Time) error {
	updates := map[string]any{"status": string(status), "attempts": gorm.Expr("attempts + 1"), "last_status": httpStatus, "last_error": why}
	if status == webhook.Delivered {
		updates["delivered_at"] = at.UTC()
	}
	return translate(s.db.gorm.WithContext(ctx).Model(&deliveryRow{}).Where("id = ?", id).Updates(updates).Error, "webhook delivery")
}

func (s *WebhookStore) Deliveries(ctx context.Context, subscriber uuid.UUID, page domain.Page) (domain.List[webhook.Delivery], error) {
	if err := mustExist(s.db.gorm.WithContext(ctx), "webhook_subscribers", subscriber, "webhook subscriber"); err != nil {
		return domain.List[webhook.Delivery]{}, err
	}
	q := s.db.gorm.WithContext(ctx).Model(&deliveryRow{}).Where("subscriber_id = ?", subscriber)
	return pageOf(q, "created_at DESC, id", page, "webhook delivery", infallible(deliveryRow.toDomain))
}
