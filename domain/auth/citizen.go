package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/pii"
)

// Citizens have no password: they prove they hold the phone recorded on a dossier with a
// one-time code sent to it. NIST SP 800-63B calls this a restricted authenticator, fit
// for a citizen's access to their own dossier: short-lived, few tries, rate-limited.

// CitizenDirectory answers whether a dossier with a receipt code was filed with a phone.
type CitizenDirectory interface {
	HasDossier(ctx context.Context, receiptCode, phone string) (bool, error)
}

// CodeSender delivers a one-time code to a phone (an SMS gateway in production).
type CodeSender interface {
	SendCode(ctx context.Context, phone, code string) error
}

// OTPChallenge is one code sent; only a keyed hash of the code is stored.
type OTPChallenge struct {
	ID         uuid.UUID
	PhoneIndex string
	CodeHash   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Attempts   int
	UsedAt     *time.Time
}

// ChallengeTx is the transaction a code is checked in: the challenge stays locked while
// it is judged, so that concurrent tries are counted one after the other.
type ChallengeTx interface {
	// LockChallenge locks challenge id until the transaction ends and reads it.
	LockChallenge(ctx context.Context, id uuid.UUID) (OTPChallenge, error)
	// SaveChallenge writes c's attempts and use.
	SaveChallenge(ctx context.Context, c OTPChallenge) error
	Commit() error
	// Rollback ends the transaction unless Commit did.
	Rollback()
}

// OTPConfig is the one-time-code policy.
type OTPConfig struct {
	TTL         time.Duration
	MaxAttempts int          // wrong codes before a code dies
	PhoneMinute ThrottleRule // sends per phone, short term
	PhoneHour   ThrottleRule // sends per phone, long term
	SourceDay   ThrottleRule // sends per source address
	PhoneFails  ThrottleRule // wrong codes per phone, across codes
}

// DefaultOTP: 6 digits valid 5 minutes, 5 tries; at most one send a minute and five an
// hour per phone, twenty requests a day per address; a phone locks for a day after 100 wrong codes.
var DefaultOTP = OTPConfig{
	TTL:         5 * time.Minute,
	MaxAttempts: 5,
	PhoneMinute: ThrottleRule{Limit: 1, Window: time.Minute, Lockout: time.Minute},
	PhoneHour:   ThrottleRule{Limit: 5, Window: time.Hour, Lockout: time.Hour},
	SourceDay:   ThrottleRule{Limit: 20, Window: 24 * time.Hour, Lockout: 24 * time.Hour},
	PhoneFails:  ThrottleRule{Limit: 100, Window: 24 * time.Hour, Lockout: 24 * time.Hour},
}

// Citizens runs the one-time-code login.
type Citizens struct {
	store     Store
	directory CitizenDirectory
	sender    CodeSender
	index     func(string) string
	cfg       OTPConfig
	now       func() time.Time
	newID     func() uuid.UUID
	random    io.Reader
}

func NewCitizens(store Store, directory CitizenDirectory, sender CodeSender, index func(string) string, cfg OTPConfig,
	now func() time.Time, newID func() uuid.UUID) *Citizens {
	return &Citizens{store: store, directory: directory, sender: sender, index: index, cfg: cfg, now: now, newID: newID, random: rand.Reader}
}

// RequestCode sends a code to phone if a dossier with receiptCode was filed with it. The
// answer is the same whether or not one was: a challenge id and its lifetime, so that
// neither codes nor phones can be enumerated. Sends are throttled per phone and address.
func (c *Citizens) RequestCode(ctx context.Context, receiptCode, phone, source string) (uuid.UUID, error) {
	normalized := domain.NormalizePhone(phone)
	if normalized == "" {
		return uuid.Nil, domain.Invalid("phone", "must be a Vietnamese mobile number such as 0912345678")
	}
	phoneIndex := c.index(normalized)
	keys := []ThrottleKey{
		{Hash: throttleHash("otp-phone-minute", phoneIndex), Rule: c.cfg.PhoneMinute},
		{Hash: throttleHash("otp-phone-hour", phoneIndex), Rule: c.cfg.PhoneHour},
		{Hash: throttleHash("otp-source-day", source), Rule: c.cfg.SourceDay},
	}
	now := c.now()
	if err := attempt(ctx, c.store, now, keys...); err != nil {
		return uuid.Nil, err
	}
	id := c.newID()
	match, err := c.directory.HasDossier(ctx, receiptCode, normalized)
	if err != nil || !match {
		return id, err
	}
	n, err := rand.Int(c.random, big.NewInt(1_000_000))
	if err != nil {
		return uuid.Nil, err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	challenge := OTPChallenge{ID: id, PhoneIndex: phoneIndex, CodeHash: c.index(id.String() + ":" + code), CreatedAt: now, ExpiresAt: now.Add(c.cfg.TTL)}
	if err := c.store.CreateChallenge(ctx, challenge); err != nil {
		return uuid.Nil, err
	}
	return id, c.sender.SendCode(ctx, normalized, code)
}

var errBadCode = domain.Errorf(domain.CodeUnauthenticated, "wrong or expired code; ask for a new one")

// VerifyCode trades a right code for a citizen principal scoped to the phone's dossiers.
// A code works once, for TTL, within MaxAttempts tries.
func (c *Citizens) VerifyCode(ctx context.Context, challengeID uuid.UUID, code string) (Principal, time.Time, error) {
	now := c.now()
	phoneIndex, err := c.useChallenge(ctx, challengeID, code, now)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return Principal{}, time.Time{}, errBadCode
	}
	// Every try counts against the phone, across its codes: a phone locked by many wrong
	// codes gets nothing, right code or not. Counted after the challenge's transaction,
	// which must not wait on the pool while it holds a lock.
	failKey := ThrottleKey{Hash: throttleHash("otp-phone-fails", phoneIndex), Rule: c.cfg.PhoneFails}
	var locked error
	if phoneIndex != "" {
		locked = attempt(ctx, c.store, now, failKey)
	}
	switch {
	case locked != nil:
		return Principal{}, time.Time{}, locked
	case err != nil:
		return Principal{}, time.Time{}, err
	}
	if err := c.store.Forgive(ctx, failKey.Hash, true); err != nil {
		return Principal{}, time.Time{}, err
	}
	return Principal{Role: RoleCitizen, PhoneIndex: phoneIndex, SessionID: challengeID}, now, nil
}

// useChallenge checks code against challenge id and saves the try: a wrong code still
// counts, a right one uses the challenge up. It answers the challenge's phone once it was
// read, whatever follows. The transaction has ended when it returns.
func (c *Citizens) useChallenge(ctx context.Context, id uuid.UUID, code string, now time.Time) (phoneIndex string, err error) {
	tx, err := c.store.BeginChallenge(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	ch, err := tx.LockChallenge(ctx, id)
	if err != nil {
		return "", err
	}
	if ch.UsedAt != nil || !now.Before(ch.ExpiresAt) || ch.Attempts >= c.cfg.MaxAttempts {
		return ch.PhoneIndex, errBadCode
	}
	var wrong error
	if subtle.ConstantTimeCompare([]byte(c.index(ch.ID.String()+":"+code)), []byte(ch.CodeHash)) != 1 {
		ch.Attempts++
		wrong = errBadCode
	} else {
		ch.UsedAt = &now
	}
	if err := tx.SaveChallenge(ctx, ch); err != nil {
		return ch.PhoneIndex, err
	}
	if err := tx.Commit(); err != nil {
		return ch.PhoneIndex, err
	}
	return ch.PhoneIndex, wrong
}

// attempt counts an attempt against keys and refuses it when any of them is locked.
func attempt(ctx context.Context, store Store, now time.Time, keys ...ThrottleKey) error {
	until, err := store.Attempt(ctx, keys, now)
	if err != nil {
		return err
	}
	if until.After(now) {
		e := domain.Errorf(domain.CodeTooManyAttempts, "too many attempts; try again later")
		e.RetryAfter = until.Sub(now).Round(time.Second) + time.Second
		return e
	}
	return nil
}

// LogSender is the development code sender: it writes the code to the log, with the phone
// masked, where a developer or a test can read it. Never for production.
type LogSender struct {
	Log func(msg string, args ...any)
}

func (l LogSender) SendCode(_ context.Context, phone, code string) error {
	l.Log("one-time code (development sender)", "phone", pii.MaskPhone(phone), "code", code)
	return nil
}
