package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
)

// sessionStore holds one refresh token in memory; only its transaction is real.
type sessionStore struct {
	auth.Store // the rest is not called by Refresh
	tx         *sessionTx
}

func (s *sessionStore) BeginSession(context.Context) (auth.SessionTx, error) { return s.tx, nil }

// sessionTx is an in-memory auth.SessionTx that remembers what was written and whether
// it was committed.
type sessionTx struct {
	token   auth.RefreshRecord
	account auth.Account
	device  *auth.Device

	rotated   *auth.RefreshRecord
	revoked   *auth.Revocation
	entry     audit.Entry
	committed bool
}

func (t *sessionTx) LockRefresh(_ context.Context, hash []byte) (auth.RefreshRecord, auth.Account, *auth.Device, error) {
	if string(hash) != string(t.token.TokenHash) {
		return auth.RefreshRecord{}, auth.Account{}, nil, domain.Errorf(domain.CodeNotFound, "no such refresh token")
	}
	return t.token, t.account, t.device, nil
}

func (t *sessionTx) RotateRefresh(_ context.Context, used uuid.UUID, next auth.RefreshRecord) error {
	if used != t.token.ID {
		return domain.Errorf(domain.CodeNotFound, "no such refresh token")
	}
	t.rotated = &next
	return nil
}

func (t *sessionTx) Revoke(_ context.Context, r auth.Revocation, entry audit.Entry) error {
	t.revoked, t.entry = &r, entry
	return nil
}

func (t *sessionTx) Commit() error { t.committed = true; return nil }
func (t *sessionTx) Rollback()     {}

// TestRefreshRules: each verdict on a presented refresh token, without PostgreSQL — what is
// written, whether it commits although the request fails, and what the process enforces
// at once.
func TestRefreshRules(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	before := now.Add(-time.Minute)
	courier := uuid.New()
	const raw = "crt_presented"
	hash := sha256.Sum256([]byte(raw))
	cases := []struct {
		name    string
		change  func(tx *sessionTx)
		revoke  string // the audit action of the family's revocation; "" for none
		refused bool
	}{
		{name: "live token rotates"},
		{name: "revoked session", change: func(tx *sessionTx) { tx.token.RevokedAt = &before }, refused: true},
		{name: "expired token", change: func(tx *sessionTx) { tx.token.ExpiresAt = now }, refused: true},
		{name: "reused token", change: func(tx *sessionTx) { tx.token.UsedAt = &before }, revoke: "session.reuse_detected", refused: true},
		{name: "inactive account", change: func(tx *sessionTx) { tx.account.Active = false }, revoke: "session.account_inactive", refused: true},
		{name: "disabled courier", change: func(tx *sessionTx) { tx.account.Disabled = true }, revoke: "session.account_inactive", refused: true},
		{name: "device gone", change: func(tx *sessionTx) { tx.device = nil }, revoke: "session.device_revoked", refused: true},
		{name: "device revoked", change: func(tx *sessionTx) { tx.device.RevokedAt = &before }, revoke: "session.device_revoked", refused: true},
		{name: "device moved to another courier", change: func(tx *sessionTx) { tx.device.CourierID = uuid.New() }, revoke: "session.device_revoked", refused: true},
	}
	// One service for every case (building one derives a password hash): each case gives the
	// store its own transaction; its ids are its own, so the shared revocation list does not
	// carry one case's revocation into another.
	store := &sessionStore{}
	revocations := auth.NewRevocationList()
	svc, err := auth.NewService(store, auth.Config{AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour},
		revocations, func() time.Time { return now }, rand.Reader, uuid.New)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			device := auth.Device{ID: uuid.New(), CourierID: courier}
			tx := &sessionTx{
				token: auth.RefreshRecord{ID: uuid.New(), FamilyID: uuid.New(), AccountID: uuid.New(), DeviceID: device.ID,
					TokenHash: hash[:], IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
				device: &device,
			}
			tx.account = auth.Account{ID: tx.token.AccountID, Role: auth.RoleCourier, CourierID: courier, Active: true}
			if c.change != nil {
				c.change(tx)
			}
			store.tx = tx
			session, err := svc.Refresh(context.Background(), raw, "198.51.100.7")
			if got := err != nil; got != c.refused {
				t.Fatalf("refused = %v (%v), want %v", got, err, c.refused)
			}
			if c.refused && domain.ErrorCode(err) != domain.CodeUnauthenticated {
				t.Errorf("refused with %v, want UNAUTHENTICATED", err)
			}
			// Only a rotation or a revocation commits, and they never go together.
			if wantCommit := !c.refused || c.revoke != ""; tx.committed != wantCommit {
				t.Errorf("committed = %v, want %v", tx.committed, wantCommit)
			}
			if (tx.rotated != nil) == c.refused {
				t.Errorf("rotated = %v on refused = %v", tx.rotated != nil, c.refused)
			}
			if !c.refused {
				if tx.rotated.FamilyID != tx.token.FamilyID || tx.rotated.DeviceID != device.ID || tx.rotated.ExpiresAt != now.Add(24*time.Hour) ||
					string(tx.rotated.TokenHash) == string(hash[:]) || session.RefreshToken == raw {
					t.Errorf("successor %+v (token %q) is not a new token of the same login", tx.rotated, session.RefreshToken)
				}
				if session.Principal.SessionID != tx.token.FamilyID || session.Principal.CourierID != courier {
					t.Errorf("principal %+v", session.Principal)
				}
			}
			if (tx.revoked != nil) != (c.revoke != "") {
				t.Fatalf("revoked %+v, want action %q", tx.revoked, c.revoke)
			}
			// An access token of the login issued before now is refused here at once.
			p := auth.Principal{Role: auth.RoleCourier, AccountID: tx.account.ID, SessionID: tx.token.FamilyID}
			if got := revocations.Revoked(p, before); got != (c.revoke != "") {
				t.Errorf("access tokens of the login revoked = %v, want %v", got, c.revoke != "")
			}
			if c.revoke == "" {
				return
			}
			r := *tx.revoked
			if r.Kind != auth.RevokeSession || r.Subject != tx.token.FamilyID || !r.At.Equal(now) || !r.Until.Equal(now.Add(15*time.Minute)) {
				t.Errorf("revocation %+v", r)
			}
			if tx.entry.Action != c.revoke || tx.entry.ResourceKind != "session" || tx.entry.ResourceID != tx.token.FamilyID.String() {
				t.Errorf("audit entry %+v, want %s of session %s", tx.entry, c.revoke, tx.token.FamilyID)
			}
		})
	}
}

// TestRefreshUnknownToken: a token no record has, or that is not a refresh token, asks for
// a new login and writes nothing.
func TestRefreshUnknownToken(t *testing.T) {
	tx := &sessionTx{token: auth.RefreshRecord{TokenHash: []byte("another")}}
	svc, err := auth.NewService(&sessionStore{tx: tx}, auth.Config{}, auth.NewRevocationList(), time.Now, rand.Reader, uuid.New)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"crt_unknown", "not-a-refresh-token"} {
		if _, err := svc.Refresh(context.Background(), raw, ""); domain.ErrorCode(err) != domain.CodeUnauthenticated {
			t.Errorf("%s: %v, want UNAUTHENTICATED", raw, err)
		}
	}
	if tx.committed || tx.rotated != nil || tx.revoked != nil {
		t.Errorf("wrote %+v", tx)
	}
}
