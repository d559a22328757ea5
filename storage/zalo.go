package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain/pii"
)

// ZaloRefresh trades a Zalo Official Account's refresh token for a new access token, a new
// refresh token (the one given is spent) and the access token's lifetime.
type ZaloRefresh func(ctx context.Context, refreshToken string) (access, refresh string, lifetime time.Duration, err error)

// ZaloTokens gives the access token that Zalo template messages are sent with, and
// refreshes it before it expires or when Zalo refused it. The tokens live in zalo_tokens,
// sealed with the data keys, and a refresh holds that row's lock from reading the refresh
// token to storing its successor: Zalo's refresh tokens are single-use, so of several
// processes refreshing at once one spends it and the others read what it stored.
type ZaloTokens struct {
	db      *DB
	keys    *pii.Keyring
	appID   string
	refresh ZaloRefresh
	margin  time.Duration

	mu      sync.Mutex
	access  string
	renewAt time.Time
}

// NewZaloTokens keeps the tokens of the Zalo app appID; an access token is refreshed once
// it expires within margin (or within half its lifetime, when that is shorter, so that
// short-lived tokens do not spend a refresh on every message).
func NewZaloTokens(db *DB, keys *pii.Keyring, appID string, refresh ZaloRefresh, margin time.Duration) *ZaloTokens {
	return &ZaloTokens{db: db, keys: keys, appID: appID, refresh: refresh, margin: margin}
}

// ErrNoZaloToken says no refresh token was ever stored for the app.
var ErrNoZaloToken = errors.New("zalo: no refresh token is stored for this Zalo app; set one with `courierd zalo-token set`")

type zaloTokenRow struct {
	AppID              string `gorm:"primaryKey"`
	RefreshTokenSealed string
	AccessTokenSealed  string
	AccessExpiresAt    *time.Time
	Version            int64
	UpdatedAt          time.Time
}

func (zaloTokenRow) TableName() string { return "zalo_tokens" }

// ZaloTokenStatus is what an operator may see of the stored tokens: no token.
type ZaloTokenStatus struct {
	AppID           string
	AccessExpiresAt *time.Time
	Version         int64
	UpdatedAt       time.Time
}

// Token returns an access token that is not about to expire, refreshing it if need be.
func (z *ZaloTokens) Token(ctx context.Context) (string, error) {
	z.mu.Lock()
	access, renewAt := z.access, z.renewAt
	z.mu.Unlock()
	if access != "" && z.db.now().Before(renewAt) {
		return access, nil
	}
	return z.renew(ctx, "")
}

// Refresh returns an access token other than stale, which Zalo refused: the one another
// process stored meanwhile, or a new one.
func (z *ZaloTokens) Refresh(ctx context.Context, stale string) (string, error) {
	return z.renew(ctx, stale)
}

func (z *ZaloTokens) renew(ctx context.Context, stale string) (string, error) {
	// Once Zalo has answered, the refresh token it was sent is spent: a caller that gives
	// up must not abandon the answer before it is stored. The HTTP client's timeout bounds
	// the wait instead.
	ctx = context.WithoutCancel(ctx)
	var access string
	var renewAt time.Time
	err := z.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row zaloTokenRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("app_id = ?", z.appID).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNoZaloToken
		} else if err != nil {
			return translate(err, "Zalo token")
		}
		if row.AccessTokenSealed != "" && row.AccessExpiresAt != nil {
			stored, err := z.keys.Open(row.AccessTokenSealed, z.context("access"))
			if err != nil {
				return fmt.Errorf("zalo: the stored access token: %w", err)
			}
			renewAt = z.renewTime(row.UpdatedAt, *row.AccessExpiresAt)
			if stored != stale && z.db.now().Before(renewAt) {
				access = stored
				return nil
			}
		}
		refreshToken, err := z.keys.Open(row.RefreshTokenSealed, z.context("refresh"))
		if err != nil {
			return fmt.Errorf("zalo: the stored refresh token: %w", err)
		}
		newAccess, newRefresh, lifetime, err := z.refresh(ctx, refreshToken)
		if err != nil {
			return fmt.Errorf("zalo: refreshing the access token failed, the stored tokens are unchanged: %w", err)
		}
		sealedAccess, err := z.keys.Seal(newAccess, z.context("access"))
		if err != nil {
			return err
		}
		sealedRefresh, err := z.keys.Seal(newRefresh, z.context("refresh"))
		if err != nil {
			return err
		}
		now := z.db.stamp()
		expires := now.Add(lifetime)
		err = tx.Model(&zaloTokenRow{}).Where("app_id = ?", z.appID).Updates(map[string]any{
			"refresh_token_sealed": sealedRefresh, "access_token_sealed": sealedAccess, "access_expires_at": expires,
			"version": gorm.Expr("version + 1"), "updated_at": now}).Error
		if err != nil {
			return fmt.Errorf("zalo: new tokens could not be stored, so the stored refresh token may be spent (if notices keep failing, set a new one with `courierd zalo-token set`): %w",
				translate(err, "Zalo token"))
		}
		access, renewAt = newAccess, z.renewTime(now, expires)
		return nil
	})
	if err != nil {
		return "", err
	}
	z.mu.Lock()
	z.access, z.renewAt = access, renewAt
	z.mu.Unlock()
	return access, nil
}

// renewTime is when a token issued at issued and expiring at expires is to be refreshed.
func (z *ZaloTokens) renewTime(issued, expires time.Time) time.Time {
	return expires.Add(-min(z.margin, expires.Sub(issued)/2))
}

// context binds each sealed token to its app and its kind, so that neither opens in the
// other's place.
func (z *ZaloTokens) context(kind string) string { return "zalo_tokens/" + z.appID + "/" + kind }

// Replace stores refreshToken as the app's refresh token, as obtained from Zalo by hand,
// and forgets the access token: the next message refreshes with it.
func (z *ZaloTokens) Replace(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return errors.New("zalo: the refresh token is empty")
	}
	sealed, err := z.keys.Seal(refreshToken, z.context("refresh"))
	if err != nil {
		return err
	}
	now := z.db.stamp()
	err = z.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "app_id"}},
		DoUpdates: clause.Assignments(map[string]any{"refresh_token_sealed": sealed, "access_token_sealed": "",
			"access_expires_at": nil, "version": gorm.Expr("zalo_tokens.version + 1"), "updated_at": now}),
	}).Create(&zaloTokenRow{AppID: z.appID, RefreshTokenSealed: sealed, Version: 1, UpdatedAt: now}).Error
	if err != nil {
		return translate(err, "Zalo token")
	}
	z.mu.Lock()
	z.access, z.renewAt = "", time.Time{}
	z.mu.Unlock()
	return nil
}

// Status tells when the tokens were last refreshed and when the access token expires;
// ErrNoZaloToken when none is stored.
func (z *ZaloTokens) Status(ctx context.Context) (ZaloTokenStatus, error) {
	var row zaloTokenRow
	err := z.db.gorm.WithContext(ctx).Where("app_id = ?", z.appID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ZaloTokenStatus{}, ErrNoZaloToken
	} else if err != nil {
		return ZaloTokenStatus{}, translate(err, "Zalo token")
	}
	return ZaloTokenStatus{AppID: row.AppID, AccessExpiresAt: row.AccessExpiresAt, Version: row.Version, UpdatedAt: row.UpdatedAt}, nil
}
