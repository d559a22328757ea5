package storage

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain/notify"
)

// ZaloTokenStore keeps Zalo apps' tokens, sealed by notify.ZaloTokens, in zalo_tokens.
type ZaloTokenStore struct{ db *DB }

func NewZaloTokenStore(db *DB) *ZaloTokenStore { return &ZaloTokenStore{db: db} }

type zaloTokenRow struct {
	AppID              string `gorm:"primaryKey"`
	RefreshTokenSealed string
	AccessTokenSealed  string
	AccessExpiresAt    *time.Time
	Version            int64
	UpdatedAt          time.Time
}

func (zaloTokenRow) TableName() string { return "zalo_tokens" }

func (r zaloTokenRow) toDomain() notify.SealedZaloTokens {
	t := notify.SealedZaloTokens{Refresh: r.RefreshTokenSealed, Access: r.AccessTokenSealed, UpdatedAt: r.UpdatedAt, Version: r.Version}
	if r.AccessExpiresAt != nil {
		t.AccessExpiresAt = *r.AccessExpiresAt
	}
	return t
}

// BeginZaloTokens implements notify.ZaloTokenStore.
func (s *ZaloTokenStore) BeginZaloTokens(ctx context.Context) (notify.ZaloTokenTx, error) {
	return s.db.begin(ctx, nil)
}

// StoredZaloTokens implements notify.ZaloTokenStore.
func (s *ZaloTokenStore) StoredZaloTokens(ctx context.Context, app string) (notify.SealedZaloTokens, error) {
	return oneZaloTokenRow(s.db.gorm.WithContext(ctx), app)
}

func oneZaloTokenRow(tx *gorm.DB, app string) (notify.SealedZaloTokens, error) {
	var row zaloTokenRow
	err := tx.Where("app_id = ?", app).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notify.SealedZaloTokens{}, notify.ErrNoZaloToken
	} else if err != nil {
		return notify.SealedZaloTokens{}, translate(err, "Zalo token")
	}
	return row.toDomain(), nil
}

// ReplaceZaloRefreshToken implements notify.ZaloTokenStore: the row is made, or its
// tokens replaced by the refresh token alone.
func (s *ZaloTokenStore) ReplaceZaloRefreshToken(ctx context.Context, app, sealedRefresh string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := s.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "app_id"}},
		DoUpdates: clause.Assignments(map[string]any{"refresh_token_sealed": sealedRefresh, "access_token_sealed": "",
			"access_expires_at": nil, "version": gorm.Expr("zalo_tokens.version + 1"), "updated_at": at}),
	}).Create(&zaloTokenRow{AppID: app, RefreshTokenSealed: sealedRefresh, Version: 1, UpdatedAt: at}).Error
	return translate(err, "Zalo token")
}

// LockZaloTokens implements notify.ZaloTokenTx.
func (t *Tx) LockZaloTokens(ctx context.Context, app string) (notify.SealedZaloTokens, error) {
	return oneZaloTokenRow(t.tx.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}), app)
}

// WriteZaloTokens implements notify.ZaloTokenTx.
func (t *Tx) WriteZaloTokens(ctx context.Context, app string, tokens notify.SealedZaloTokens) error {
	err := t.tx.WithContext(ctx).Model(&zaloTokenRow{}).Where("app_id = ?", app).Updates(map[string]any{
		"refresh_token_sealed": tokens.Refresh, "access_token_sealed": tokens.Access,
		"access_expires_at": tokens.AccessExpiresAt.UTC().Truncate(time.Microsecond),
		"version":           tokens.Version, "updated_at": tokens.UpdatedAt.UTC().Truncate(time.Microsecond)}).Error
	return translate(err, "Zalo token")
}
