package storage

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
)

// revocationChannel is the LISTEN/NOTIFY channel that tells every courierd process to
// reload the revocation list.
const revocationChannel = "courierd_revocations"

// AuthStore implements auth.Store.
type AuthStore struct{ db *DB }

func NewAuthStore(db *DB) *AuthStore { return &AuthStore{db: db} }

type accountRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	Username     string
	PasswordHash string
	Role         string
	CourierID    *uuid.UUID
	AgencyID     *uuid.UUID
	Active       bool
	RowMeta
}

func (accountRow) TableName() string { return "accounts" }

type accountPostOfficeRow struct {
	AccountID    uuid.UUID
	PostOfficeID uuid.UUID
}

func (accountPostOfficeRow) TableName() string { return "account_post_offices" }

func accountToRow(a auth.Account) accountRow {
	return accountRow{ID: a.ID, Username: a.Username, PasswordHash: a.PasswordHash, Role: string(a.Role),
		CourierID: nilUUID(a.CourierID), AgencyID: nilUUID(a.AgencyID), Active: a.Active}
}

func (r accountRow) toDomain(offices []uuid.UUID) auth.Account {
	return auth.Account{ID: r.ID, Username: r.Username, PasswordHash: r.PasswordHash, Role: auth.Role(r.Role),
		CourierID: derefUUID(r.CourierID), AgencyID: derefUUID(r.AgencyID), PostOfficeIDs: offices, Active: r.Active,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// withOffices loads the dispatchers' post offices of rows.
func withOffices(tx *gorm.DB, rows []accountRow) ([]auth.Account, error) {
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var links []accountPostOfficeRow
	if len(ids) > 0 {
		if err := tx.Where("account_id IN ?", ids).Order("post_office_id").Find(&links).Error; err != nil {
			return nil, err
		}
	}
	offices := map[uuid.UUID][]uuid.UUID{}
	for _, l := range links {
		offices[l.AccountID] = append(offices[l.AccountID], l.PostOfficeID)
	}
	accounts := make([]auth.Account, len(rows))
	for i, r := range rows {
		accounts[i] = r.toDomain(offices[r.ID])
	}
	return accounts, nil
}

func oneAccount(tx *gorm.DB, where string, arg any) (auth.Account, error) {
	var row accountRow
	if err := tx.Where(where, arg).Take(&row).Error; err != nil {
		return auth.Account{}, translate(notFoundOnBadKey(err), "account")
	}
	accounts, err := withOffices(tx, []accountRow{row})
	if err != nil {
		return auth.Account{}, translate(err, "account")
	}
	if row.CourierID != nil {
		var active bool
		if err := tx.Model(&courierRow{}).Select("active").Where("id = ?", *row.CourierID).Scan(&active).Error; err != nil {
			return auth.Account{}, translate(err, "account")
		}
		accounts[0].Disabled = !active
	}
	return accounts[0], nil
}

func (s *AuthStore) AccountByUsername(ctx context.Context, username string) (auth.Account, error) {
	return oneAccount(s.db.gorm.WithContext(ctx), "username = ?", username)
}

func (s *AuthStore) Account(ctx context.Context, id uuid.UUID) (auth.Account, error) {
	return oneAccount(s.db.gorm.WithContext(ctx), "id = ?", id)
}

func (s *AuthStore) ListAccounts(ctx context.Context, f auth.AccountFilter, page domain.Page) (domain.List[auth.Account], error) {
	q := whereFlag(whereSet(s.db.gorm.WithContext(ctx).Model(&accountRow{}), "role", string(f.Role)), "active", f.Active)
	// Usernames are unique: the order is a keyset by itself. The page's rows first, then
	// their offices in one read for all of them.
	rows, err := pageOf(q, "username", page, "account", infallible(func(r accountRow) accountRow { return r }))
	if err != nil {
		return domain.List[auth.Account]{}, err
	}
	accounts, err := withOffices(s.db.gorm.WithContext(ctx), rows.Items)
	if err != nil {
		return domain.List[auth.Account]{}, translate(err, "account")
	}
	return domain.List[auth.Account]{Items: accounts, Total: rows.Total, NextCursor: rows.NextCursor}, nil
}

func (s *AuthStore) CreateAccount(ctx context.Context, a auth.Account, entry audit.Entry) (auth.Account, error) {
	row := accountToRow(a)
	now := s.db.stamp()
	row.RowMeta = RowMeta{Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return linkOffices(tx, a)
	}, entry)
	if err != nil {
		return auth.Account{}, translate(err, "account")
	}
	return row.toDomain(a.PostOfficeIDs), nil
}

func linkOffices(tx *gorm.DB, a auth.Account) error {
	if err := tx.Where("account_id = ?", a.ID).Delete(&accountPostOfficeRow{}).Error; err != nil {
		return err
	}
	for _, office := range a.PostOfficeIDs {
		if err := tx.Create(&accountPostOfficeRow{AccountID: a.ID, PostOfficeID: office}).Error; err != nil {
			return err
		}
	}
	return nil
}

func (s *AuthStore) UpdateAccount(ctx context.Context, a auth.Account, expectedVersion int, endSessions *auth.Revocation, entry audit.Entry) (auth.Account, []auth.Revocation, error) {
	row := accountToRow(a)
	var ended []auth.Revocation
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		var current accountRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", a.ID).Take(&current).Error; err != nil {
			return err
		}
		if expectedVersion != 0 && expectedVersion != current.Version {
			return domain.Errorf(domain.CodeVersionConflict, "this account changed since you read it (version %d, you sent %d)", current.Version, expectedVersion)
		}
		now := s.db.stamp()
		row.RowMeta = RowMeta{Version: current.Version + 1, CreatedAt: current.CreatedAt, UpdatedAt: now}
		if err := tx.Select("*").Updates(&row).Error; err != nil {
			return err
		}
		if err := linkOffices(tx, a); err != nil {
			return err
		}
		if endSessions == nil {
			return nil
		}
		var families []uuid.UUID
		if err := tx.Model(&refreshRow{}).Distinct("family_id").Where("account_id = ? AND revoked_at IS NULL AND expires_at > ?", a.ID, now).
			Pluck("family_id", &families).Error; err != nil {
			return err
		}
		for _, family := range families {
			r := *endSessions
			r.Subject = family
			if err := applyRevocation(tx, r, now); err != nil {
				return err
			}
			ended = append(ended, r)
		}
		return nil
	}, entry)
	if err != nil {
		return auth.Account{}, nil, translate(err, "account")
	}
	return row.toDomain(a.PostOfficeIDs), ended, nil
}

type deviceRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	DeviceKey    string
	CourierID    uuid.UUID
	Model        string
	OS           string `gorm:"column:os"`
	AppVersion   string
	RegisteredAt time.Time
	LastSeenAt   time.Time
	RevokedAt    *time.Time
}

func (deviceRow) TableName() string { return "devices" }

func (r deviceRow) toDomain() auth.Device {
	return auth.Device{ID: r.ID, Key: r.DeviceKey, CourierID: r.CourierID, Model: r.Model, OS: r.OS, AppVersion: r.AppVersion,
		RegisteredAt: r.RegisteredAt, LastSeenAt: r.LastSeenAt, RevokedAt: r.RevokedAt}
}

func (s *AuthStore) oneDevice(ctx context.Context, where string, arg any) (auth.Device, error) {
	var row deviceRow
	if err := s.db.gorm.WithContext(ctx).Where(where, arg).Take(&row).Error; err != nil {
		return auth.Device{}, translate(notFoundOnBadKey(err), "device")
	}
	return row.toDomain(), nil
}

func (s *AuthStore) DeviceByKey(ctx context.Context, key string) (auth.Device, error) {
	return s.oneDevice(ctx, "device_key = ?", key)
}

func (s *AuthStore) Device(ctx context.Context, id uuid.UUID) (auth.Device, error) {
	return s.oneDevice(ctx, "id = ?", id)
}

func (s *AuthStore) ListDevices(ctx context.Context, f auth.DeviceFilter, page domain.Page) (domain.List[auth.Device], error) {
	q := whereIn(whereIn(s.db.gorm.WithContext(ctx).Model(&deviceRow{}), "id", f.IDs), "courier_id", f.CourierIDs)
	if f.PostOfficeIDs != nil {
		q = q.Where("courier_id IN (?)", whereIn(s.db.gorm.Model(&courierRow{}).Select("id"), "post_office_id", f.PostOfficeIDs))
	}
	if f.Revoked != nil {
		q = q.Where("(revoked_at IS NOT NULL) = ?", *f.Revoked)
	}
	return pageOf(q, "registered_at, id", page, "device", infallible(deviceRow.toDomain))
}

func (s *AuthStore) SaveDevice(ctx context.Context, d auth.Device, entry audit.Entry) (auth.Device, error) {
	row := deviceRow{ID: d.ID, DeviceKey: d.Key, CourierID: d.CourierID, Model: d.Model, OS: d.OS, AppVersion: d.AppVersion,
		RegisteredAt: d.RegisteredAt.UTC(), LastSeenAt: d.LastSeenAt.UTC().Truncate(time.Microsecond), RevokedAt: d.RevokedAt}
	err := s.db.inTx(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "device_key"}},
			DoUpdates: clause.AssignmentColumns([]string{"model", "os", "app_version", "last_seen_at"}),
		}).Create(&row).Error
	}, entry)
	if err != nil {
		return auth.Device{}, translate(err, "device")
	}
	return row.toDomain(), nil
}

func (s *AuthStore) TouchDevice(ctx context.Context, id uuid.UUID, appVersion string, at time.Time) error {
	err := s.db.gorm.WithContext(ctx).Model(&deviceRow{}).Where("id = ?", id).
		Updates(map[string]any{"last_seen_at": at.UTC(), "app_version": appVersion}).Error
	return translate(err, "device")
}

type refreshRow struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	FamilyID  uuid.UUID
	AccountID uuid.UUID
	DeviceID  *uuid.UUID
	TokenHash []byte
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

func (refreshRow) TableName() string { return "refresh_tokens" }

func refreshToRow(r auth.RefreshRecord) refreshRow {
	return refreshRow{ID: r.ID, FamilyID: r.FamilyID, AccountID: r.AccountID, DeviceID: nilUUID(r.DeviceID), TokenHash: r.TokenHash,
		IssuedAt: r.IssuedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UsedAt: r.UsedAt, RevokedAt: r.RevokedAt}
}

func (r refreshRow) toDomain() auth.RefreshRecord {
	return auth.RefreshRecord{ID: r.ID, FamilyID: r.FamilyID, AccountID: r.AccountID, DeviceID: derefUUID(r.DeviceID),
		TokenHash: r.TokenHash, IssuedAt: r.IssuedAt, ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt, RevokedAt: r.RevokedAt}
}

func (s *AuthStore) CreateSession(ctx context.Context, r auth.RefreshRecord, entry audit.Entry) error {
	row := refreshToRow(r)
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error }, entry), "session")
}

// BeginSession starts a refresh's transaction. It makes no dossier change, so it has no
// jobs and no queue.
func (s *AuthStore) BeginSession(ctx context.Context) (auth.SessionTx, error) {
	return s.db.begin(ctx, nil)
}

// LockRefresh implements auth.SessionTx.
func (t *Tx) LockRefresh(ctx context.Context, tokenHash []byte) (auth.RefreshRecord, auth.Account, *auth.Device, error) {
	tx := t.tx.WithContext(ctx)
	var cur refreshRow
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("token_hash = ?", tokenHash).Take(&cur).Error; err != nil {
		return auth.RefreshRecord{}, auth.Account{}, nil, translate(err, "refresh token")
	}
	account, err := oneAccount(tx, "id = ?", cur.AccountID)
	if err != nil {
		return auth.RefreshRecord{}, auth.Account{}, nil, err
	}
	if cur.DeviceID == nil {
		return cur.toDomain(), account, nil, nil
	}
	var d deviceRow
	if err := tx.Where("id = ?", *cur.DeviceID).Take(&d).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return cur.toDomain(), account, nil, nil
	} else if err != nil {
		return auth.RefreshRecord{}, auth.Account{}, nil, translate(err, "refresh token")
	}
	device := d.toDomain()
	return cur.toDomain(), account, &device, nil
}

// RotateRefresh implements auth.SessionTx.
func (t *Tx) RotateRefresh(ctx context.Context, used uuid.UUID, next auth.RefreshRecord) error {
	tx := t.tx.WithContext(ctx)
	if err := tx.Model(&refreshRow{}).Where("id = ?", used).Update("used_at", t.db.stamp()).Error; err != nil {
		return translate(err, "refresh token")
	}
	row := refreshToRow(next)
	return translate(tx.Create(&row).Error, "refresh token")
}

// Revoke implements auth.SessionTx.
func (t *Tx) Revoke(ctx context.Context, r auth.Revocation, entry audit.Entry) error {
	tx := t.tx.WithContext(ctx)
	if err := applyRevocation(tx, r, t.db.stamp()); err != nil {
		return translate(err, "refresh token")
	}
	return translate(writeAudit(tx, entry), "refresh token")
}

type revocationRow struct {
	ID        int64 `gorm:"primaryKey;->"`
	Kind      string
	Subject   uuid.UUID
	RevokedAt time.Time
	ExpiresAt time.Time
}

func (revocationRow) TableName() string { return "revocations" }

func (s *AuthStore) Revoke(ctx context.Context, r auth.Revocation, entry audit.Entry) error {
	return translate(s.db.inTx(ctx, func(tx *gorm.DB) error {
		return applyRevocation(tx, r, s.db.stamp())
	}, entry), "revocation")
}

// applyRevocation records r, revokes the refresh tokens (and device) it covers, and
// queues the notification that PostgreSQL delivers to every listener on commit.
func applyRevocation(tx *gorm.DB, r auth.Revocation, now time.Time) error {
	row := revocationRow{Kind: string(r.Kind), Subject: r.Subject, RevokedAt: r.At.UTC(), ExpiresAt: r.Until.UTC()}
	if err := tx.Omit("ID").Create(&row).Error; err != nil {
		return err
	}
	column := map[auth.RevocationKind]string{auth.RevokeAccount: "account_id", auth.RevokeDevice: "device_id", auth.RevokeSession: "family_id"}[r.Kind]
	if err := tx.Model(&refreshRow{}).Where(column+" = ? AND revoked_at IS NULL", r.Subject).Update("revoked_at", now).Error; err != nil {
		return err
	}
	if r.Kind == auth.RevokeDevice {
		if err := tx.Model(&deviceRow{}).Where("id = ?", r.Subject).Update("revoked_at", now).Error; err != nil {
			return err
		}
	}
	return tx.Exec("SELECT pg_notify(?, '')", revocationChannel).Error
}

func (s *AuthStore) LiveRevocations(ctx context.Context, now time.Time) ([]auth.Revocation, error) {
	var rows []revocationRow
	if err := s.db.gorm.WithContext(ctx).Where("expires_at > ?", now).Find(&rows).Error; err != nil {
		return nil, translate(err, "revocation")
	}
	out := make([]auth.Revocation, len(rows))
	for i, r := range rows {
		out[i] = auth.Revocation{Kind: auth.RevocationKind(r.Kind), Subject: r.Subject, At: r.RevokedAt, Until: r.ExpiresAt}
	}
	return out, nil
}

type throttleRow struct {
	KeyHash       string `gorm:"primaryKey"`
	Failures      int
	WindowStarted time.Time
	LockedUntil   *time.Time
}

func (throttleRow) TableName() string { return "auth_throttle" }

// Attempt counts an attempt against each key, one atomic statement per key, and returns
// the latest lock in force among them afterwards. A window that has run out starts
// afresh; a count past the limit locks the key (and each further attempt extends it).
// Counting first and deciding on the count is what keeps concurrent attempts honest.
func (s *AuthStore) Attempt(ctx context.Context, keys []auth.ThrottleKey, now time.Time) (time.Time, error) {
	// Every key in one statement, atomic as it stands: a request costs one round trip
	// however many counters it moves. Rows are taken in key order, so that two requests
	// counting the same keys lock them in the same order. A statement may change a row
	// once, so a key named twice counts once.
	var hashes []string
	var limits []int64
	var lockEnds, windowStarts []time.Time
	for _, k := range keys {
		if slices.Contains(hashes, k.Hash) {
			continue
		}
		hashes, limits = append(hashes, k.Hash), append(limits, int64(k.Rule.Limit))
		lockEnds, windowStarts = append(lockEnds, now.Add(k.Rule.Lockout).UTC()), append(windowStarts, now.Add(-k.Rule.Window).UTC())
	}
	var latest sql.NullTime
	// k holds each key's rule; a counter whose window has passed starts again at one.
	// async turns synchronous_commit off for this statement's own transaction only, which
	// commits when it ends: a crash may lose the last counts (see DB.counters), and an
	// attacker gains a few tries per crash at most. Set in the statement, not as the
	// session's, so that it holds behind a pooler in transaction mode, which keeps no
	// session's settings; k reads it, so that it is evaluated whenever a key is counted.
	err := s.db.counters.QueryRowContext(ctx, `WITH async AS (
	SELECT set_config('synchronous_commit', 'off', true)
), k AS (
	SELECT k.* FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[]) AS k(hash, lim, lock_end, window_start), async
), counted AS (
	INSERT INTO auth_throttle AS t (key_hash, failures, window_started, locked_until)
	SELECT hash, 1, $1::timestamptz, CASE WHEN 1 > lim THEN lock_end END FROM k ORDER BY hash
	ON CONFLICT (key_hash) DO UPDATE SET
		failures = CASE WHEN t.window_started <= (SELECT window_start FROM k WHERE hash = t.key_hash) THEN 1 ELSE t.failures + 1 END,
		window_started = CASE WHEN t.window_started <= (SELECT window_start FROM k WHERE hash = t.key_hash) THEN $1::timestamptz ELSE t.window_started END,
		locked_until = CASE
			WHEN (CASE WHEN t.window_started <= (SELECT window_start FROM k WHERE hash = t.key_hash) THEN 1 ELSE t.failures + 1 END)
				> (SELECT lim FROM k WHERE hash = t.key_hash)
			THEN (SELECT lock_end FROM k WHERE hash = t.key_hash)
			ELSE t.locked_until END
	RETURNING locked_until
)
SELECT max(locked_until) FILTER (WHERE locked_until > $1::timestamptz) FROM counted`,
		now.UTC(), hashes, limits, lockEnds, windowStarts).Scan(&latest)
	if err != nil {
		return time.Time{}, translate(err, "throttle")
	}
	return latest.Time, nil
}

// Forgive takes one attempt back from a key (a login that succeeded from an address), or
// forgets the key altogether when clear is set (the account that logged in).
func (s *AuthStore) Forgive(ctx context.Context, hash string, clear bool) error {
	q := s.db.gorm.WithContext(ctx).Where("key_hash = ?", hash)
	if clear {
		return translate(q.Delete(&throttleRow{}).Error, "throttle")
	}
	return translate(q.Model(&throttleRow{}).Update("failures", gorm.Expr("GREATEST(failures - 1, 0)")).Error, "throttle")
}

type challengeRow struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	PhoneIndex string
	CodeHash   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Attempts   int
	UsedAt     *time.Time
}

func (challengeRow) TableName() string { return "otp_challenges" }

func (s *AuthStore) CreateChallenge(ctx context.Context, c auth.OTPChallenge) error {
	row := challengeRow{ID: c.ID, PhoneIndex: c.PhoneIndex, CodeHash: c.CodeHash, CreatedAt: c.CreatedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC()}
	return translate(s.db.gorm.WithContext(ctx).Create(&row).Error, "one-time code")
}

// BeginChallenge starts the transaction a one-time code is checked in. It has no jobs and
// no queue.
func (s *AuthStore) BeginChallenge(ctx context.Context) (auth.ChallengeTx, error) {
	return s.db.begin(ctx, nil)
}

// LockChallenge implements auth.ChallengeTx.
func (t *Tx) LockChallenge(ctx context.Context, id uuid.UUID) (auth.OTPChallenge, error) {
	var row challengeRow
	if err := t.tx.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&row).Error; err != nil {
		return auth.OTPChallenge{}, translate(err, "one-time code")
	}
	return auth.OTPChallenge{ID: row.ID, PhoneIndex: row.PhoneIndex, CodeHash: row.CodeHash, CreatedAt: row.CreatedAt,
		ExpiresAt: row.ExpiresAt, Attempts: row.Attempts, UsedAt: row.UsedAt}, nil
}

// SaveChallenge implements auth.ChallengeTx.
func (t *Tx) SaveChallenge(ctx context.Context, c auth.OTPChallenge) error {
	err := t.tx.WithContext(ctx).Model(&challengeRow{}).Where("id = ?", c.ID).
		Updates(map[string]any{"attempts": c.Attempts, "used_at": c.UsedAt}).Error
	return translate(err, "one-time code")
}
