package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ZaloRefresher trades a Zalo Official Account's refresh token for a new access token, a new refresh
// token (the one given is spent) and the access token's lifetime.
type ZaloRefresher func(ctx context.Context, refreshToken string) (access, refresh string, lifetime time.Duration, err error)

// SealedZaloTokens are a Zalo app's tokens as stored: both sealed.
type SealedZaloTokens struct {
	Refresh, Access string
	// AccessExpiresAt is zero while no access token is stored.
	AccessExpiresAt time.Time
	// UpdatedAt is when the tokens were last stored; Version counts the times.
	UpdatedAt time.Time
	Version   int64
}

// ZaloTokenTx is the transaction a refresh runs in: the app's row stays locked from
// reading the refresh token to storing its successor.
type ZaloTokenTx interface {
	// LockZaloTokens reads the app's tokens and locks them; ErrNoZaloToken when none
	// were stored.
	LockZaloTokens(ctx context.Context, app string) (SealedZaloTokens, error)
	// WriteZaloTokens stores the tokens.
	WriteZaloTokens(ctx context.Context, app string, t SealedZaloTokens) error
	Commit() error
	Rollback()
}

// ZaloTokenStore keeps the tokens of Zalo apps, one row each.
type ZaloTokenStore interface {
	BeginZaloTokens(ctx context.Context) (ZaloTokenTx, error)
	// StoredZaloTokens reads the app's tokens; ErrNoZaloToken when none were stored.
	StoredZaloTokens(ctx context.Context, app string) (SealedZaloTokens, error)
	// ReplaceZaloRefreshToken stores a refresh token obtained by hand, with no access token.
	ReplaceZaloRefreshToken(ctx context.Context, app, sealedRefresh string, at time.Time) error
}

// Sealer seals tokens at rest (pii.Keyring, with the data keys).
type Sealer interface {
	Seal(plaintext, context string) (string, error)
	Open(sealed, context string) (string, error)
}

// ErrNoZaloToken says no refresh token was ever stored for the app.
var ErrNoZaloToken = errors.New("zalo: no refresh token is stored for this Zalo app; set one with `courierd zalo-token set`")

// ZaloTokens gives the access token that Zalo template messages are sent with, and refreshes
// it before it expires or when Zalo refused it. A refresh holds the app's lock from
// reading the refresh token to storing its successor: Zalo's refresh tokens are
// single-use, so of several processes refreshing at once one spends it and the others
// read what it stored.
type ZaloTokens struct {
	store   ZaloTokenStore
	sealer  Sealer
	app     string
	refresh ZaloRefresher
	margin  time.Duration
	now     func() time.Time

	mu      sync.Mutex
	access  string
	renewAt time.Time
}

// NewZaloTokens keeps app's tokens; an access token is refreshed once it expires within
// margin, or within half its lifetime when that is shorter, so that short-lived tokens do
// not spend a refresh on every message.
func NewZaloTokens(store ZaloTokenStore, sealer Sealer, app string, refresh ZaloRefresher, margin time.Duration, now func() time.Time) *ZaloTokens {
	return &ZaloTokens{store: store, sealer: sealer, app: app, refresh: refresh, margin: margin, now: now}
}

// ZaloTokenStatus is what an operator may see of the stored tokens: no token.
type ZaloTokenStatus struct {
	AppID           string
	AccessExpiresAt time.Time // zero: no access token yet
	UpdatedAt       time.Time
	Version         int64
}

// Token returns an access token that is not about to expire, refreshing it if need be.
func (z *ZaloTokens) Token(ctx context.Context) (string, error) {
	z.mu.Lock()
	access, renewAt := z.access, z.renewAt
	z.mu.Unlock()
	if access != "" && z.now().Before(renewAt) {
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
	tx, err := z.store.BeginZaloTokens(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	stored, err := tx.LockZaloTokens(ctx, z.app)
	if err != nil {
		return "", err
	}
	if stored.Access != "" {
		access, err := z.sealer.Open(stored.Access, z.context("access"))
		if err != nil {
			return "", fmt.Errorf("zalo: the stored access token: %w", err)
		}
		renewAt := z.renewTime(stored.UpdatedAt, stored.AccessExpiresAt)
		if access != stale && z.now().Before(renewAt) {
			if err := tx.Commit(); err != nil {
				return "", err
			}
			return z.remember(access, renewAt), nil
		}
	}
	refreshToken, err := z.sealer.Open(stored.Refresh, z.context("refresh"))
	if err != nil {
		return "", fmt.Errorf("zalo: the stored refresh token: %w", err)
	}
	access, refresh, lifetime, err := z.refresh(ctx, refreshToken)
	if err != nil {
		return "", fmt.Errorf("zalo: refreshing the access token failed, the stored tokens are unchanged: %w", err)
	}
	next := SealedZaloTokens{UpdatedAt: z.now(), Version: stored.Version + 1}
	next.AccessExpiresAt = next.UpdatedAt.Add(lifetime)
	if next.Access, err = z.sealer.Seal(access, z.context("access")); err != nil {
		return "", err
	}
	if next.Refresh, err = z.sealer.Seal(refresh, z.context("refresh")); err != nil {
		return "", err
	}
	if err = tx.WriteZaloTokens(ctx, z.app, next); err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return "", fmt.Errorf("zalo: new tokens could not be stored, so the stored refresh token may be spent (if notices keep failing, set a new one with `courierd zalo-token set`): %w", err)
	}
	return z.remember(access, z.renewTime(next.UpdatedAt, next.AccessExpiresAt)), nil
}

func (z *ZaloTokens) remember(access string, renewAt time.Time) string {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.access, z.renewAt = access, renewAt
	return access
}

// renewTime is when a token stored at issued and expiring at expires is to be refreshed.
func (z *ZaloTokens) renewTime(issued, expires time.Time) time.Time {
	return expires.Add(-min(z.margin, expires.Sub(issued)/2))
}

// context binds each sealed token to its app and its kind, so that neither opens in
// the other's place.
func (z *ZaloTokens) context(kind string) string { return "zalo_tokens/" + z.app + "/" + kind }

// Replace stores refreshToken as the app's refresh token, as obtained from Zalo by
// hand, and forgets the access token: the next message refreshes with it.
func (z *ZaloTokens) Replace(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return errors.New("zalo: the refresh token is empty")
	}
	sealed, err := z.sealer.Seal(refreshToken, z.context("refresh"))
	if err != nil {
		return err
	}
	if err := z.store.ReplaceZaloRefreshToken(ctx, z.app, sealed, z.now()); err != nil {
		return err
	}
	z.remember("", time.Time{})
	return nil
}

// Status tells when the tokens were last stored and when the access token expires;
// ErrNoZaloToken when none are stored.
func (z *ZaloTokens) Status(ctx context.Context) (ZaloTokenStatus, error) {
	stored, err := z.store.StoredZaloTokens(ctx, z.app)
	if err != nil {
		return ZaloTokenStatus{}, err
	}
	return ZaloTokenStatus{AppID: z.app, AccessExpiresAt: stored.AccessExpiresAt, UpdatedAt: stored.UpdatedAt, Version: stored.Version}, nil
}
