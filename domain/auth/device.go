package auth

import (
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/semver"

	"courierd/domain"
)

// Codes of the device rules.
const (
	CodeUpgradeRequired      domain.Code = "UPGRADE_REQUIRED"
	CodeDeviceNotBound       domain.Code = "DEVICE_NOT_BOUND"
	CodeDeviceBoundElsewhere domain.Code = "DEVICE_BOUND_ELSEWHERE"
)

// Device is a courier's handheld. Key is the installation's own identifier, sent by the
// app; ID is ours. A revoked device can do nothing until an admin registers it again.
type Device struct {
	ID           uuid.UUID
	Key          string
	CourierID    uuid.UUID
	Model        string
	OS           string
	AppVersion   string
	RegisteredAt time.Time
	LastSeenAt   time.Time
	RevokedAt    *time.Time
}

// DeviceFilter narrows a list of devices; zero fields do not filter.
type DeviceFilter struct {
	IDs           []uuid.UUID
	CourierIDs    []uuid.UUID
	PostOfficeIDs []uuid.UUID // the couriers' home post offices
	Revoked       *bool
}

var deviceKeyShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$`)

// Validate checks what the app sends when registering.
func (d Device) Validate() error {
	var p domain.Problems
	p.Check(deviceKeyShape.MatchString(d.Key), "device_id", "must be 8–128 letters, digits, '.', '_', ':' or '-'")
	p.Check(strings.TrimSpace(d.Model) != "" && len(d.Model) <= 100, "model", "is required, at most 100 characters")
	p.Check(strings.TrimSpace(d.OS) != "" && len(d.OS) <= 100, "os", "is required, at most 100 characters")
	p.Check(ValidAppVersion(d.AppVersion), "app_version", "must be a version such as 1.4.2")
	return p.Err()
}

// ValidAppVersion reports whether v is a dotted version such as 1.4.2.
func ValidAppVersion(v string) bool {
	return v != "" && semver.IsValid("v"+v)
}

// OlderThan reports whether app version v is older than min; an empty min allows all.
func OlderThan(v, min string) bool {
	if min == "" {
		return false
	}
	if !ValidAppVersion(v) {
		return true
	}
	return semver.Compare("v"+v, "v"+min) < 0
}
