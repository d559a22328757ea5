package auth

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// AccountInput is an account as an admin writes it; Password is required on create and,
// on update, replaces the password (ending the account's sessions) when not empty.
type AccountInput struct {
	Account
	Password string
}

// ListAccounts lists staff accounts (admins only, by the route table).
func (s *Service) ListAccounts(ctx context.Context, filter AccountFilter, page domain.Page) (domain.List[Account], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Account]{}, err
	}
	return s.store.ListAccounts(ctx, filter, page)
}

func (s *Service) GetAccount(ctx context.Context, id uuid.UUID) (Account, error) {
	return s.store.Account(ctx, id)
}

// CreateAccount adds a staff account.
func (s *Service) CreateAccount(ctx context.Context, in AccountInput) (Account, error) {
	a := in.Account
	a.ID, a.Username = s.newID(), NormalizeUsername(a.Username)
	if err := joinErrors(a.Validate(), CheckPasswordStrength("password", in.Password)); err != nil {
		return Account{}, err
	}
	hash, err := HashPassword(in.Password, s.random)
	if err != nil {
		return Account{}, err
	}
	a.PasswordHash = hash
	return s.store.CreateAccount(ctx, a, s.entry(PrincipalFrom(ctx), s.now(), "account.create", "account", a.ID.String(), map[string]any{"role": a.Role}))
}

// UpdateAccount replaces an account's role, scope and state, and its password if given.
// A disabled account or a new password ends its sessions at once.
func (s *Service) UpdateAccount(ctx context.Context, id uuid.UUID, in AccountInput, expectedVersion int) (Account, error) {
	stored, err := s.store.Account(ctx, id)
	if err != nil {
		return Account{}, err
	}
	a := in.Account
	a.ID, a.Username, a.PasswordHash = id, NormalizeUsername(a.Username), stored.PasswordHash
	var pwErr error
	if in.Password != "" {
		pwErr = CheckPasswordStrength("password", in.Password)
	}
	if err := joinErrors(a.Validate(), pwErr); err != nil {
		return Account{}, err
	}
	if in.Password != "" {
		if a.PasswordHash, err = HashPassword(in.Password, s.random); err != nil {
			return Account{}, err
		}
	}
	now := s.now()
	var end *Revocation
	if !a.Active || in.Password != "" || a.Role != stored.Role || !slices.Equal(a.PostOfficeIDs, stored.PostOfficeIDs) {
		// Tokens carry role and scope; the old ones must not outlive the change.
		end = s.sessionsEnd(now)
	}
	updated, ended, err := s.store.UpdateAccount(ctx, a, expectedVersion, end, s.entry(PrincipalFrom(ctx), now, "account.update", "account",
		id.String(), map[string]any{"role": a.Role, "active": a.Active, "password_changed": in.Password != ""}))
	if err != nil {
		return Account{}, err
	}
	s.enforce(ended)
	return updated, nil
}

// joinErrors merges validation errors into one VALIDATION_FAILED listing all fields.
func joinErrors(errs ...error) error {
	var merged domain.Problems
	for _, err := range errs {
		if err == nil {
			continue
		}
		e, ok := domain.AsError(err)
		if !ok || e.Code != domain.CodeValidationFailed {
			return err
		}
		for _, f := range e.Fields {
			merged.Add(f.Field, f.Reason)
		}
	}
	return merged.Err()
}

// RegisterDevice binds the calling courier's handheld, or updates its model, OS and app
// version when it is already theirs. A device bound to someone else, or revoked, needs an
// admin.
func (s *Service) RegisterDevice(ctx context.Context, d Device) (Device, error) {
	p := PrincipalFrom(ctx)
	d.CourierID = p.CourierID
	if err := d.Validate(); err != nil {
		return Device{}, err
	}
	now := s.now()
	existing, err := s.store.DeviceByKey(ctx, d.Key)
	switch {
	case err == nil && (existing.CourierID != p.CourierID || existing.RevokedAt != nil):
		return Device{}, domain.Errorf(CodeDeviceBoundElsewhere, "this device is registered to another courier or revoked; an admin must release it")
	case err == nil:
		d.ID, d.RegisteredAt = existing.ID, existing.RegisteredAt
	case domain.ErrorCode(err) == domain.CodeNotFound:
		d.ID, d.RegisteredAt = s.newID(), now
	default:
		return Device{}, err
	}
	d.LastSeenAt = now
	return s.store.SaveDevice(ctx, d, s.entry(p, now, "device.register", "device", d.ID.String(), map[string]any{"app_version": d.AppVersion}))
}

// ListDevices lists the devices the caller may see: all for an admin, their couriers'
// for a dispatcher, their own for a courier.
func (s *Service) ListDevices(ctx context.Context, filter DeviceFilter, page domain.Page) (domain.List[Device], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Device]{}, err
	}
	scope := ScopeOf(PrincipalFrom(ctx))
	var courier uuid.UUID
	if !scope.Narrow(&filter.PostOfficeIDs, &courier, nil) {
		return domain.List[Device]{Items: []Device{}}, nil
	}
	if _, own := scope.Courier(); own {
		filter.CourierIDs = []uuid.UUID{courier}
	}
	return s.store.ListDevices(ctx, filter, page)
}

// GetDevice returns a device the caller may see; any other answers NOT_FOUND.
func (s *Service) GetDevice(ctx context.Context, id uuid.UUID) (Device, error) {
	list, err := s.ListDevices(ctx, DeviceFilter{IDs: []uuid.UUID{id}}, domain.Page{Limit: 1})
	if err != nil {
		return Device{}, err
	}
	if len(list.Items) == 0 {
		return Device{}, domain.Errorf(domain.CodeNotFound, "no such device")
	}
	return list.Items[0], nil
}

// touchEvery bounds last-seen writes to one per device per minute, however chatty it is.
const touchEvery = time.Minute

// CheckDevice admits a device-bound call: the app must be recent enough, unless the call
// only drains the device's queue (draining, so that an old app never loses recorded
// deliveries); the device's last-seen time and app version are recorded.
func (s *Service) CheckDevice(ctx context.Context, appVersion string, draining bool) error {
	p := PrincipalFrom(ctx)
	if p.DeviceID == uuid.Nil {
		return domain.Errorf(domain.CodeForbidden, "this call is for a courier's registered device; log in with its device_id")
	}
	if !draining && OlderThan(appVersion, s.cfg.MinAppVersion) {
		return domain.Errorf(CodeUpgradeRequired, "this app version (%q) is no longer supported; update to %s or later", appVersion, s.cfg.MinAppVersion)
	}
	now := s.now()
	s.touchMu.Lock()
	due := now.Sub(s.lastTouch[p.DeviceID]) >= touchEvery
	if due {
		s.lastTouch[p.DeviceID] = now
	}
	s.touchMu.Unlock()
	if due {
		return s.store.TouchDevice(ctx, p.DeviceID, appVersion, now)
	}
	return nil
}
