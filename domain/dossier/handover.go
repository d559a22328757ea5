package dossier

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// Codes of the door check.
const (
	// CodeHandoverWrong: the code is not the one this trip's applicant was sent (a typo,
	// or a code of an earlier trip).
	CodeHandoverWrong domain.Code = "HANDOVER_CODE_WRONG"
	// CodeHandoverExpired: the code was sent too long before the delivery was recorded.
	CodeHandoverExpired domain.Code = "HANDOVER_CODE_EXPIRED"
	// CodeHandoverLocked: too many wrong codes or ID digits for this trip; neither is
	// accepted any more.
	CodeHandoverLocked domain.Code = "HANDOVER_CODE_LOCKED"
	// CodeIdentityMismatch: the ID card's last digits are not the applicant's.
	CodeIdentityMismatch domain.Code = "IDENTITY_MISMATCH"
)

// Ways a recipient proves at the door that the result is theirs; the server records the
// one it verified.
const (
	IdentityHandoverCode  = "handover_code"        // the code the applicant was sent
	IdentityCitizenID     = "citizen_id"           // the ID card, its last four digits matched
	IdentityAuthorisation = "authorisation_letter" // a proxy with a photographed letter
)

// maxHandoverFailures is how many different wrong codes a trip takes before its code
// dies: six digits and five guesses leave a guesser one chance in 200,000.
const maxHandoverFailures = 5

// Handover is the short code the applicant reads out to the courier at the door (or shows
// as a QR). A new one is drawn each time a result sets out; it dies when the trip ends,
// when it expires, or after maxHandoverFailures wrong tries. It is sealed at rest, as the
// applicant's page and messages must show it.
type Handover struct {
	Sealed    string
	ExpiresAt *time.Time
	Failures  int
	// Code is the code in clear, only where the applicant is shown it.
	Code string
}

// DoorCheck is what a courier recorded of the recipient's identity at the door.
type DoorCheck struct {
	HandoverCode        string
	CitizenIDLast4      string
	AuthorisationSHA256 string // photo of a proxy's authorisation letter
}

var (
	handoverShape = regexp.MustCompile(`^[0-9A-Z]{4,8}$`)
	last4Shape    = regexp.MustCompile(`^[0-9]{4}$`)
	sha256Shape   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Check adds the door check's malformed fields to p, named after prefix.
func (c DoorCheck) Check(p *domain.Problems, prefix string) {
	p.Check(c.HandoverCode == "" || handoverShape.MatchString(c.HandoverCode), prefix+"handover_code", "4 to 8 digits or capital letters")
	p.Check(c.CitizenIDLast4 == "" || last4Shape.MatchString(c.CitizenIDLast4), prefix+"citizen_id_last4", "the last 4 digits of the ID card only")
	p.Check(c.AuthorisationSHA256 == "" || sha256Shape.MatchString(c.AuthorisationSHA256), prefix+"authorisation_sha256", "a SHA-256 in lowercase hex")
}

// doorTime is when a delivery was recorded: the device's clock when it reported a time
// between the trip's start and now (a delivery recorded offline and synced later), the
// server's otherwise, so that no made-up time revives an expired code.
func (s *Service) doorTime(d Dossier, now time.Time, device *time.Time) time.Time {
	if device == nil || device.After(now) || d.Handover.ExpiresAt == nil {
		return now
	}
	if drawn := d.Handover.ExpiresAt.Add(-s.cfg.HandoverTTL); device.Before(drawn) {
		return now
	}
	return *device
}

// mayDeliver reports whether p could record this dossier's delivery: a courier only on
// their own stop, so that no one else can spend a trip's tries at the code.
func mayDeliver(p auth.Principal, tasks []Task) bool {
	if p.Role != auth.RoleCourier {
		return true
	}
	t, err := taskOf(tasks, TaskDelivery)
	return err == nil && t.CourierID == p.CourierID
}

// handoverContext binds a sealed code to its dossier.
func handoverContext(id uuid.UUID) string { return "handover:" + id.String() }

// SealedValues are what a dossier keeps sealed under the data key.
type SealedValues struct {
	ID        uuid.UUID
	CitizenID string // the applicant's ID number
	Door      string // the current trip's handover code; empty without one
}

func sealedOf(d Dossier) SealedValues {
	return SealedValues{ID: d.ID, CitizenID: d.Applicant.CitizenIDSealed, Door: d.Handover.Sealed}
}

// resealPage is how many dossiers Reseal reads at a time.
const resealPage = 500

// Reseal seals every citizen ID number and door code again under the current data key,
// the step of a key rotation that lets the old key go; it returns how many dossiers
// changed. Run twice, it changes nothing the second time.
func (s *Service) Reseal(ctx context.Context) (int, error) {
	changed := 0
	// Read in pages without locks, and lock only the dossiers whose values change, reading
	// them again under the lock (a trip's door code may have changed meanwhile).
	for after := uuid.Nil; ; {
		page, err := s.store.SealedValues(ctx, after, resealPage)
		if err != nil {
			return changed, err
		}
		for _, v := range page {
			resealed, err := s.reseal(v)
			if err != nil {
				return changed, fmt.Errorf("dossier %s: %w", v.ID, err)
			}
			if resealed == v {
				continue
			}
			if err := s.resealLocked(ctx, v.ID); err != nil {
				return changed, err
			}
			changed++
		}
		if len(page) < resealPage {
			return changed, nil
		}
		after = page[len(page)-1].ID
	}
}

// resealLocked reseals dossier id's values in its own transaction, as read under its lock.
func (s *Service) resealLocked(ctx context.Context, id uuid.UUID) error {
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	d, _, err := tx.Lock(ctx, id)
	if err != nil {
		return err
	}
	was := sealedOf(d)
	resealed, err := s.reseal(was)
	if err != nil {
		return err
	}
	if err := tx.WriteSealed(ctx, was, resealed); err != nil {
		return err
	}
	return tx.Commit()
}

// reseal is v sealed under the current data key.
func (s *Service) reseal(v SealedValues) (SealedValues, error) {
	var err error
	if v.CitizenID, _, err = s.keys.Reseal(v.CitizenID, v.ID.String()); err != nil || v.Door == "" {
		return v, err
	}
	v.Door, _, err = s.keys.Reseal(v.Door, handoverContext(v.ID))
	return v, err
}

// drawHandover draws a trip's code and seals it.
func (s *Service) drawHandover(d Dossier, now time.Time) (Handover, error) {
	n, err := rand.Int(s.random, big.NewInt(1_000_000))
	if err != nil {
		return Handover{}, err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	sealed, err := s.keys.Seal(code, handoverContext(d.ID))
	if err != nil {
		return Handover{}, err
	}
	expires := now.Add(s.cfg.HandoverTTL)
	return Handover{Sealed: sealed, ExpiresAt: &expires}, nil
}

// checkProof judges the proof a courier gives at the door for the current trip: the
// handover code, or the applicant's ID card digits. A wrong one is a miss, which the
// trip's budget counts; after maxHandoverFailures misses neither is accepted any more (a
// courier who sees the masked ID's last three digits must not guess the fourth).
func (s *Service) checkProof(d Dossier, door DoorCheck, at time.Time) (method string, miss bool, err error) {
	h := d.Handover
	if h.Failures >= maxHandoverFailures {
		return "", false, domain.Errorf(CodeHandoverLocked, "too many wrong codes or ID digits for this trip; record a failed attempt (identity_not_proven)")
	}
	if door.HandoverCode != "" {
		if h.Sealed == "" {
			return "", false, domain.Errorf(CodeHandoverWrong, "this trip has no handover code; check the recipient's ID card instead")
		}
		clear, err := s.keys.Open(h.Sealed, handoverContext(d.ID))
		if err != nil {
			return "", false, err
		}
		if subtle.ConstantTimeCompare([]byte(clear), []byte(door.HandoverCode)) != 1 {
			return "", true, domain.Errorf(CodeHandoverWrong, "wrong handover code; ask again, or check the recipient's ID card instead")
		}
		if h.ExpiresAt != nil && at.After(*h.ExpiresAt) {
			return "", false, domain.Errorf(CodeHandoverExpired, "this handover code expired at %s; check the recipient's ID card instead", h.ExpiresAt.Format(time.RFC3339))
		}
		return IdentityHandoverCode, false, nil
	}
	id, err := s.keys.Open(d.Applicant.CitizenIDSealed, d.ID.String())
	if err != nil {
		return "", false, err
	}
	if len(id) < 4 || subtle.ConstantTimeCompare([]byte(id[len(id)-4:]), []byte(door.CitizenIDLast4)) != 1 {
		return "", true, domain.Errorf(CodeIdentityMismatch, "the ID card's last four digits are not the applicant's")
	}
	return IdentityCitizenID, false, nil
}

// verifyDoor decides how the recipient proved who they are, or refuses the delivery: a
// valid handover code; or for the applicant, an ID card whose last four digits match;
// or for a proxy (where the procedure allows one), the photographed authorisation letter.
// A delivery offering none got this far only if its procedure asks for no proof
// (checkFieldReport refuses it otherwise).
func (s *Service) verifyDoor(d Dossier, in EventInput, at time.Time) (string, error) {
	switch {
	case !identityOffered(in):
		return IdentityNotChecked, nil
	case in.Door.HandoverCode == "" && in.Recipient == PartyProxy:
		return IdentityAuthorisation, nil
	}
	door := in.Door
	method, _, err := s.checkProof(d, door, at) // a code, or the applicant's own ID digits
	return method, err
}

// guardDoor judges a delivery's code or ID digits before its transaction, with the
// dossier locked, and records a miss for good (the delivery's own transaction rolls back
// when it is refused); requests racing with guesses queue on the lock, so none gets past
// the budget. The decision checks again.
func (s *Service) guardDoor(ctx context.Context, d Dossier, in EventInput, at time.Time) error {
	door := in.Door
	// A proxy's ID digits are their own, not the applicant's: only a code is judged then.
	idCheck := door.CitizenIDLast4 != "" && in.Recipient != PartyProxy
	if in.Event != EventDeliver || d.State != StateOutForDelivery || (door.HandoverCode == "" && !idCheck) {
		return nil
	}
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	locked, _, err := tx.Lock(ctx, d.ID)
	if err != nil {
		return err
	}
	_, miss, verdict := s.checkProof(locked, door, at)
	if miss {
		// A guess is kept as a keyed hash, so the same one sent again counts once.
		guess := s.keys.Index(handoverContext(d.ID) + ":" + door.HandoverCode + "/" + door.CitizenIDLast4)
		if err := tx.CountMiss(ctx, d.ID, locked.Handover.Sealed, guess); err != nil {
			return err
		}
	}
	// The miss is kept though the delivery is refused.
	if err := tx.Commit(); err != nil {
		return err
	}
	return verdict
}

// HandoverCode is the current trip's code for the applicant's own page: in clear, with
// its expiry, while their result is on its way to them; NOT_FOUND otherwise.
func (s *Service) HandoverCode(ctx context.Context, id uuid.UUID) (Handover, error) {
	p := auth.PrincipalFrom(ctx)
	d, tasks, err := s.Get(ctx, id)
	if err != nil {
		return Handover{}, err
	}
	if p.Role != auth.RoleCitizen || !visible(p, d, tasks) || d.State != StateOutForDelivery || d.Handover.Sealed == "" {
		return Handover{}, domain.Errorf(domain.CodeNotFound, "no handover code: the result is not on its way to you")
	}
	return s.openHandover(d)
}

// openHandover is d's handover with its code in clear.
func (s *Service) openHandover(d Dossier) (Handover, error) {
	h := d.Handover
	if h.Sealed == "" {
		return h, nil
	}
	code, err := s.keys.Open(h.Sealed, handoverContext(d.ID))
	h.Code = code
	return h, err
}

// HandoverQR is the text of the QR code the applicant may show instead of reading the
// code out: the scheme, the receipt code and the handover code.
func HandoverQR(receipt ReceiptCode, code string) string {
	return "BCCI-HO:" + string(receipt) + ":" + code
}
