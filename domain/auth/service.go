package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
)

// Config is the session policy.
type Config struct {
	AccessTTL     time.Duration // how long an access token lives; revocations are kept as long
	RefreshTTL    time.Duration // how long a refresh token lives unused
	Throttle      ThrottleConfig
	MinAppVersion string // devices with an older app get UPGRADE_REQUIRED; "" allows all
}

// RefreshRecord is a stored refresh token: only its hash, its family (one login) and
// whether it has been used (rotated) or revoked.
type RefreshRecord struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	AccountID uuid.UUID
	DeviceID  uuid.UUID
	TokenHash []byte
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// SessionTx is the transaction a refresh runs in. The presented token stays locked while it
// is judged: of two refreshes racing with one token, the second sees it used.
type SessionTx interface {
	// LockRefresh locks the refresh token with tokenHash until the transaction ends and
	// reads it with its account and its device (nil when it has none, or it is gone).
	LockRefresh(ctx context.Context, tokenHash []byte) (RefreshRecord, Account, *Device, error)
	// RotateRefresh marks the token with id used as used and inserts its successor next.
	RotateRefresh(ctx context.Context, used uuid.UUID, next RefreshRecord) error
	// Revoke records r, revokes the refresh tokens it covers (and the device, for a device
	// revocation), tells every courierd process at commit, and writes entry.
	Revoke(ctx context.Context, r Revocation, entry audit.Entry) error
	Commit() error
	// Rollback ends the transaction unless Commit did.
	Rollback()
}

// Store is the persistence port of identity and access. Errors: NOT_FOUND for unknown
// ids, usernames, device keys and token hashes; CONFLICT for a taken username, device key
// or courier; VERSION_CONFLICT as in the catalog.
type Store interface {
	AccountByUsername(ctx context.Context, username string) (Account, error)
	Account(ctx context.Context, id uuid.UUID) (Account, error)
	ListAccounts(ctx context.Context, filter AccountFilter, page domain.Page) (domain.List[Account], error)
	CreateAccount(ctx context.Context, a Account, entry audit.Entry) (Account, error)
	// UpdateAccount saves a; with endSessions it also revokes, in the same transaction,
	// every live session of the account (a revocation like endSessions per family) and
	// returns those revocations.
	UpdateAccount(ctx context.Context, a Account, expectedVersion int, endSessions *Revocation, entry audit.Entry) (Account, []Revocation, error)

	DeviceByKey(ctx context.Context, key string) (Device, error)
	Device(ctx context.Context, id uuid.UUID) (Device, error)
	ListDevices(ctx context.Context, filter DeviceFilter, page domain.Page) (domain.List[Device], error)
	// SaveDevice inserts d, or updates the device with the same key.
	SaveDevice(ctx context.Context, d Device, entry audit.Entry) (Device, error)
	TouchDevice(ctx context.Context, id uuid.UUID, appVersion string, at time.Time) error

	CreateSession(ctx context.Context, r RefreshRecord, entry audit.Entry) error
	// BeginSession starts a refresh's transaction (see SessionTx).
	BeginSession(ctx context.Context) (SessionTx, error)
	// Revoke records r, revokes the refresh tokens it covers (and the device, for a
	// device revocation), and tells every courierd process, in one transaction.
	Revoke(ctx context.Context, r Revocation, entry audit.Entry) error
	LiveRevocations(ctx context.Context, now time.Time) ([]Revocation, error)

	CreateChallenge(ctx context.Context, c OTPChallenge) error
	// BeginChallenge starts the transaction a one-time code is checked in (see ChallengeTx).
	BeginChallenge(ctx context.Context) (ChallengeTx, error)

	// Attempt counts an attempt against each key atomically and returns the latest lock
	// in force among them afterwards (zero when none).
	Attempt(ctx context.Context, keys []ThrottleKey, now time.Time) (time.Time, error)
	// Forgive takes one attempt back from a key, or forgets the key when clear.
	Forgive(ctx context.Context, hash string, clear bool) error
}

// Session is what a login or refresh yields: the principal to put in an access token,
// and a new refresh token (shown once, stored only hashed).
type Session struct {
	Principal        Principal
	IssuedAt         time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// LoginRequest is a username and password, and for a courier's handheld its device key.
type LoginRequest struct {
	Username  string
	Password  string
	DeviceKey string
	Source    string
}

// Service is identity and access.
type Service struct {
	store     Store
	cfg       Config
	now       func() time.Time
	random    io.Reader
	newID     func() uuid.UUID
	revoked   *RevocationList
	dummyHash string

	touchMu   sync.Mutex
	lastTouch map[uuid.UUID]time.Time
}

// NewService builds the service. random supplies salts and tokens (crypto/rand.Reader
// outside tests).
func NewService(store Store, cfg Config, revoked *RevocationList, now func() time.Time, random io.Reader, newID func() uuid.UUID) (*Service, error) {
	dummy, err := HashPassword("no account has this password", random)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, cfg: cfg, now: now, random: random, newID: newID, revoked: revoked,
		dummyHash: dummy, lastTouch: map[uuid.UUID]time.Time{}}, nil
}

var errBadCredentials = domain.Errorf(domain.CodeUnauthenticated, "wrong username or password")

func errSession(reason string) error {
	return domain.Errorf(domain.CodeUnauthenticated, "%s; log in again", reason)
}

// Login checks a password and opens a session. Unknown usernames and wrong passwords get
// the same answer after the same work; repeated failures lock the username and the
// source address for a while.
func (s *Service) Login(ctx context.Context, req LoginRequest) (Session, error) {
	username := NormalizeUsername(req.Username)
	guess, err := s.countPasswordGuess(ctx, username, req.Source)
	if err != nil {
		return Session{}, err
	}
	account, err := s.store.AccountByUsername(ctx, username)
	found := err == nil
	if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
		return Session{}, err
	}
	hash := s.dummyHash
	if found {
		hash = account.PasswordHash
	}
	ok, err := VerifyPassword(hash, req.Password)
	if err != nil {
		return Session{}, fmt.Errorf("account %s: %w", account.ID, err)
	}
	if !ok || !found || !account.usable() || len(req.Password) > MaxPasswordLen {
		return Session{}, errBadCredentials // the attempt is already counted
	}
	if err := s.forgive(ctx, guess); err != nil {
		return Session{}, err
	}
	var device *Device
	if req.DeviceKey != "" {
		d, err := s.boundDevice(ctx, account, req.DeviceKey)
		if err != nil {
			return Session{}, err
		}
		device = &d
	}
	return s.openSession(ctx, account, device, req.Source, "session.login")
}

// passwordGuess is one try at an account's password: its counters, by account name and
// by source address.
type passwordGuess struct{ account, source ThrottleKey }

// countPasswordGuess counts a try at username's password from source before it is
// checked, at login and when a signed-in user changes it alike (a stolen session must not
// guess the password faster than a login may), and refuses it while either is locked.
func (s *Service) countPasswordGuess(ctx context.Context, username, source string) (passwordGuess, error) {
	g := passwordGuess{account: ThrottleKey{Hash: throttleHash("login-account", username), Rule: s.cfg.Throttle.PerAccount},
		source: ThrottleKey{Hash: throttleHash("login-source", source), Rule: s.cfg.Throttle.PerSource}}
	return g, attempt(ctx, s.store, s.now(), g.account, g.source)
}

// forgive takes back a right guess: the account's failures are cleared, the address's
// count goes down by one.
func (s *Service) forgive(ctx context.Context, g passwordGuess) error {
	if err := s.store.Forgive(ctx, g.account.Hash, true); err != nil {
		return err
	}
	return s.store.Forgive(ctx, g.source.Hash, false)
}

// boundDevice is the device with key if it is bound to account's courier and not revoked.
func (s *Service) boundDevice(ctx context.Context, account Account, key string) (Device, error) {
	notBound := domain.Errorf(CodeDeviceNotBound, "this device is not registered to you or has been revoked; register it, or ask an admin")
	if account.Role != RoleCourier {
		return Device{}, notBound
	}
	d, err := s.store.DeviceByKey(ctx, key)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return Device{}, notBound
	}
	if err != nil {
		return Device{}, err
	}
	if d.CourierID != account.CourierID || d.RevokedAt != nil {
		return Device{}, notBound
	}
	return d, nil
}

func (s *Service) openSession(ctx context.Context, account Account, device *Device, source, action string) (Session, error) {
	now := s.now()
	var deviceID uuid.UUID
	if device != nil {
		deviceID = device.ID
	}
	raw, record, err := s.newRefresh(uuid.Nil, account.ID, deviceID, now)
	if err != nil {
		return Session{}, err
	}
	p := account.principal(device, record.FamilyID, source)
	if err := s.store.CreateSession(ctx, record, s.entry(p, now, action, "session", record.FamilyID.String(), nil)); err != nil {
		return Session{}, err
	}
	return Session{Principal: p, IssuedAt: now, RefreshToken: raw, RefreshExpiresAt: record.ExpiresAt}, nil
}

// refreshPrefix marks courierd refresh tokens so that secret scanners can recognise them.
const refreshPrefix = "crt_"

// newRefresh makes a refresh token in family (a new family when Nil).
func (s *Service) newRefresh(family, account, device uuid.UUID, now time.Time) (string, RefreshRecord, error) {
	secret := make([]byte, 32)
	if _, err := io.ReadFull(s.random, secret); err != nil {
		return "", RefreshRecord{}, fmt.Errorf("refresh token: %w", err)
	}
	if family == uuid.Nil {
		family = s.newID()
	}
	raw := refreshPrefix + base64.RawURLEncoding.EncodeToString(secret)
	return raw, RefreshRecord{ID: s.newID(), FamilyID: family, AccountID: account, DeviceID: device,
		TokenHash: hashRefresh(raw), IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}, nil
}

func hashRefresh(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// Refresh trades a refresh token for a new one and a fresh principal (role and scope as
// they are now). Presenting a token that was already used means it was copied: the whole
// family is revoked, the newest token included.
func (s *Service) Refresh(ctx context.Context, raw, source string) (Session, error) {
	if !strings.HasPrefix(raw, refreshPrefix) || len(raw) > 100 {
		return Session{}, errSession("this is not a refresh token")
	}
	now := s.now()
	tx, err := s.store.BeginSession(ctx)
	if err != nil {
		return Session{}, err
	}
	defer tx.Rollback()
	cur, account, device, err := tx.LockRefresh(ctx, hashRefresh(raw))
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return Session{}, errSession("unknown refresh token")
	}
	if err != nil {
		return Session{}, err
	}
	p := account.principal(device, cur.FamilyID, source)
	revokeAs, refused := judgeRefresh(cur, account, device, now)
	if revokeAs != "" {
		// Committed although the request fails: a copied token, or a login whose account
		// or device was barred, must not be tried again.
		r := Revocation{Kind: RevokeSession, Subject: cur.FamilyID, At: now, Until: now.Add(s.cfg.AccessTTL)}
		if err := tx.Revoke(ctx, r, s.entry(p, now, revokeAs, "session", cur.FamilyID.String(), nil)); err != nil {
			return Session{}, err
		}
		if err := tx.Commit(); err != nil {
			return Session{}, err
		}
		s.revoked.Add(r) // committed: enforce it here without waiting for the feed
	}
	if refused != nil {
		return Session{}, refused
	}
	next, record, err := s.newRefresh(cur.FamilyID, cur.AccountID, cur.DeviceID, now)
	if err != nil {
		return Session{}, err
	}
	if err := tx.RotateRefresh(ctx, cur.ID, record); err != nil {
		return Session{}, err
	}
	if err := tx.Commit(); err != nil {
		return Session{}, err
	}
	return Session{Principal: p, IssuedAt: now, RefreshToken: next, RefreshExpiresAt: record.ExpiresAt}, nil
}

// judgeRefresh decides on a presented refresh token: rotate it (nil), refuse it, or refuse
// it and revoke its whole family, under the audit action revokeAs.
func judgeRefresh(cur RefreshRecord, account Account, device *Device, now time.Time) (revokeAs string, refused error) {
	switch {
	case cur.RevokedAt != nil:
		return "", errSession("this session has been revoked")
	case !now.Before(cur.ExpiresAt):
		return "", errSession("this refresh token has expired")
	case cur.UsedAt != nil:
		return "session.reuse_detected", errSession("this refresh token was already used, so every token of this login is now revoked")
	case !account.usable():
		return "session.account_inactive", errSession("this account is disabled")
	case cur.DeviceID != uuid.Nil && (device == nil || device.RevokedAt != nil || device.CourierID != account.CourierID):
		return "session.device_revoked", errSession("this device has been revoked")
	}
	return "", nil
}

// Authenticate refuses a token whose account, device or session was revoked after it was
// issued. It reads only memory.
func (s *Service) Authenticate(p Principal, issuedAt time.Time) error {
	if s.revoked.Revoked(p, issuedAt) {
		return domain.Errorf(domain.CodeUnauthenticated, "this token has been revoked; log in again")
	}
	return nil
}

// Logout ends the caller's session: its refresh tokens and, at once, its access tokens.
func (s *Service) Logout(ctx context.Context) error {
	p := PrincipalFrom(ctx)
	return s.revoke(ctx, p, RevokeSession, p.SessionID, "session.logout", "session")
}

// RevokeAccount ends every session of an account at once (an admin's emergency stop).
func (s *Service) RevokeAccount(ctx context.Context, id uuid.UUID) error {
	if _, err := s.store.Account(ctx, id); err != nil {
		return err
	}
	return s.revoke(ctx, PrincipalFrom(ctx), RevokeAccount, id, "account.revoke", "account")
}

// RevokeDevice bars a handheld: its tokens stop working at once and it cannot log in.
func (s *Service) RevokeDevice(ctx context.Context, id uuid.UUID) error {
	if _, err := s.store.Device(ctx, id); err != nil {
		return err
	}
	return s.revoke(ctx, PrincipalFrom(ctx), RevokeDevice, id, "device.revoke", "device")
}

func (s *Service) revoke(ctx context.Context, actor Principal, kind RevocationKind, subject uuid.UUID, action, resource string) error {
	now := s.now()
	r := Revocation{Kind: kind, Subject: subject, At: now, Until: now.Add(s.cfg.AccessTTL)}
	if err := s.store.Revoke(ctx, r, s.entry(actor, now, action, resource, subject.String(), nil)); err != nil {
		return err
	}
	s.revoked.Add(r)
	return nil
}

// ChangePassword replaces the caller's password after checking the current one, ends every
// other session of the account, and opens a new one.
func (s *Service) ChangePassword(ctx context.Context, current, next string) (Session, error) {
	p := PrincipalFrom(ctx)
	account, err := s.store.Account(ctx, p.AccountID)
	if err != nil {
		return Session{}, err
	}
	guess, err := s.countPasswordGuess(ctx, account.Username, p.Source)
	if err != nil {
		return Session{}, err
	}
	if ok, err := VerifyPassword(account.PasswordHash, current); err != nil || !ok {
		return Session{}, domain.Invalid("current_password", "is not your current password")
	}
	if err := s.forgive(ctx, guess); err != nil {
		return Session{}, err
	}
	if err := CheckPasswordStrength("new_password", next); err != nil {
		return Session{}, err
	}
	if account.PasswordHash, err = HashPassword(next, s.random); err != nil {
		return Session{}, err
	}
	now := s.now()
	_, ended, err := s.store.UpdateAccount(ctx, account, account.Version, s.sessionsEnd(now),
		s.entry(p, now, "account.password", "account", account.ID.String(), nil))
	if err != nil {
		return Session{}, err
	}
	s.enforce(ended)
	var device *Device
	if p.DeviceID != uuid.Nil {
		device = &Device{ID: p.DeviceID, Key: p.DeviceKey}
	}
	return s.openSession(ctx, account, device, p.Source, "session.password_changed")
}

// sessionsEnd is the revocation that ends every live session of an account: one per
// session, so that a session opened right after is not caught as an account-wide
// revocation would catch it.
func (s *Service) sessionsEnd(now time.Time) *Revocation {
	return &Revocation{Kind: RevokeSession, At: now, Until: now.Add(s.cfg.AccessTTL)}
}

// enforce applies committed revocations here at once, ahead of the feed.
func (s *Service) enforce(revocations []Revocation) {
	for _, r := range revocations {
		s.revoked.Add(r)
	}
}

// entry is an audit entry of actor's doing.
func (s *Service) entry(actor Principal, at time.Time, action, kind, id string, detail map[string]any) audit.Entry {
	return entryOf(actor, at, action, kind, id, detail)
}

// entryOf is an audit entry of actor's doing.
func entryOf(actor Principal, at time.Time, action, kind, id string, detail map[string]any) audit.Entry {
	return audit.Entry{At: at, ActorID: actor.AccountID, ActorRole: string(actor.Role), DeviceID: actor.DeviceID,
		Source: actor.Source, Action: action, ResourceKind: kind, ResourceID: id, Detail: detail}
}
