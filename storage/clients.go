package storage

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"courierd/domain/audit"
	"courierd/domain/auth"
)

// ClientStore keeps partners' machine clients (auth.ClientStore).
type ClientStore struct{ db *DB }

func NewClientStore(db *DB) *ClientStore { return &ClientStore{db: db} }

type clientRow struct {
	ID                 uuid.UUID `gorm:"primaryKey"`
	Name               string
	Kind               string
	AgencyID           uuid.UUID
	Scopes             string
	SecretHash         []byte
	PreviousSecretHash []byte
	PreviousUntil      *time.Time
	RevokedAt          *time.Time
	CreatedAt          time.Time
}

func (clientRow) TableName() string { return "partner_clients" }

func toClientRow(c auth.Client) clientRow {
	return clientRow{ID: c.ID, Name: c.Name, Kind: string(c.Kind), AgencyID: c.AgencyID, Scopes: strings.Join(c.Scopes, " "),
		SecretHash: c.SecretHash, PreviousSecretHash: c.PreviousHash, PreviousUntil: c.PreviousUntil, RevokedAt: c.RevokedAt, CreatedAt: c.CreatedAt}
}

func (r clientRow) client() auth.Client {
	return auth.Client{ID: r.ID, Name: r.Name, Kind: auth.ClientKind(r.Kind), AgencyID: r.AgencyID, Scopes: strings.Fields(r.Scopes),
		SecretHash: r.SecretHash, PreviousHash: r.PreviousSecretHash, PreviousUntil: r.PreviousUntil, RevokedAt: r.RevokedAt, CreatedAt: r.CreatedAt}
}

func (s *ClientStore) CreateClient(ctx context.Context, c auth.Client, entry audit.Entry) error {
	row := toClientRow(c)
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error }, entry), "client")
}

func (s *ClientStore) Client(ctx context.Context, id uuid.UUID) (auth.Client, error) {
	var row clientRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return auth.Client{}, translate(err, "client")
	}
	return row.client(), nil
}

func (s *ClientStore) ListClients(ctx context.Context) ([]auth.Client, error) {
	var rows []clientRow
	if err := s.db.gorm.WithContext(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, translate(err, "client")
	}
	out := make([]auth.Client, len(rows))
	for i, r := range rows {
		out[i] = r.client()
	}
	return out, nil
}

func (s *ClientStore) SetClientSecrets(ctx context.Context, c auth.Client, entry audit.Entry) error {
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&clientRow{}).Where("id = ? AND revoked_at IS NULL", c.ID).Updates(map[string]any{
			"secret_hash": c.SecretHash, "previous_secret_hash": c.PreviousHash, "previous_until": c.PreviousUntil})
		if res.Error == nil && res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return res.Error
	}, entry), "client")
}

func (s *ClientStore) RevokeClient(ctx context.Context, id uuid.UUID, r auth.Revocation, entry audit.Entry) error {
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&clientRow{}).Where("id = ?", id).Update("revoked_at", gorm.Expr("coalesce(revoked_at, ?)", r.At.UTC()))
		if res.Error == nil && res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if res.Error != nil {
			return res.Error
		}
		// A revoked client can no longer manage its webhook subscribers: they stop with it.
		if err := tx.Exec(`UPDATE webhook_subscribers SET active = false WHERE client_id = ? AND active`, id).Error; err != nil {
			return err
		}
		return applyRevocation(tx, r, s.db.stamp())
	}, entry), "client")
}
