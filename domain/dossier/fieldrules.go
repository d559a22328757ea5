package dossier

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/catalog"
)

// CodeProofMissing: a delivery lacks what its procedure requires (a signature, a photo of
// a proxy's handover, the recipient's identity); each missing thing is a field error.
const CodeProofMissing domain.Code = "PROOF_MISSING"

// IdentityNotChecked is the identity method recorded when the procedure asks for no proof
// of identity at the door and the courier gave none.
const IdentityNotChecked = "none"

// FixLimits are how far from the address, and how vague, a fix recorded at a door may be
// before a dispatcher is asked to look at it.
type FixLimits struct {
	MaxDistanceM int
	MaxAccuracyM int
}

// FlagKind is what a dispatcher is asked to look at.
type FlagKind string

const (
	FlagFixMissing       FlagKind = "fix_missing"       // recorded at a door with no GPS fix
	FlagFixFar           FlagKind = "fix_far"           // the fix is farther than MaxDistanceM from the address
	FlagFixInaccurate    FlagKind = "fix_inaccurate"    // the fix's accuracy is worse than MaxAccuracyM
	FlagDocumentsMissing FlagKind = "documents_missing" // papers of the procedure's checklist not checked at pickup
)

// Flag is something a courier's report raised for the dispatcher. The event it came with
// was applied: the courier is the authority on what happened at the door; the flag says
// what the record cannot vouch for.
type Flag struct {
	ID           int64
	DossierID    uuid.UUID
	PostOfficeID uuid.UUID
	CourierID    uuid.UUID
	Event        Event
	Kind         FlagKind
	DistanceM    *float64 // fix_far, fix_inaccurate: from the address, in metres
	AccuracyM    *float64 // fix_far, fix_inaccurate: as the device reported it
	Documents    []string // documents_missing: the checklist's names not checked
	At           time.Time
}

// FlagFilter narrows a list of flags; zero fields do not filter.
type FlagFilter struct {
	DossierID     uuid.UUID
	PostOfficeIDs []uuid.UUID
}

// checkFieldReport refuses what a report at the door cannot be applied without: a
// delivery lacking what its procedure requires (PROOF_MISSING, naming each missing thing),
// or a pickup naming a document its procedure does not list.
func checkFieldReport(proc catalog.Procedure, in EventInput) error {
	var p domain.Problems
	for i, name := range in.DocumentsChecked {
		p.Check(slices.ContainsFunc(proc.Documents, func(d catalog.RequiredDocument) bool { return d.Name == name }),
			fmt.Sprintf("documents_checked[%d]", i), "names no document of this procedure's checklist")
	}
	if err := p.Err(); err != nil || in.Event != EventDeliver {
		return err
	}
	var missing []domain.FieldError
	need := func(field, reason string) { missing = append(missing, domain.FieldError{Field: field, Reason: reason}) }
	if proc.DeliverySignatureRequired && in.Proof.SignatureSHA256 == "" {
		need("proof.signature_sha256", "this procedure's delivery needs the recipient's signature")
	}
	if proc.DeliveryProxyPhotoRequired && in.Recipient == PartyProxy && in.Proof.PhotoSHA256 == "" {
		need("proof.photo_sha256", "a proxy received the result: this procedure needs a photo of the handover")
	}
	if proc.IdentityCheckRequired && !identityOffered(in) {
		if in.Recipient == PartyProxy {
			need("authorisation_sha256", "a proxy proves the right to receive with the handover code or a photo of the authorisation letter")
		} else {
			need("handover_code", "the applicant proves who they are with the handover code, or the ID card's last four digits (citizen_id_last4)")
		}
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, m := range missing {
		names[i] = m.Field
	}
	e := domain.Errorf(CodeProofMissing, "the delivery lacks what this procedure requires: %s", strings.Join(names, ", "))
	e.Fields = missing
	return e
}

// identityOffered reports whether the courier gave any proof of the recipient's identity
// the server can judge: the trip's code, or the applicant's ID digits, or a proxy's letter.
func identityOffered(in EventInput) bool {
	if in.Door.HandoverCode != "" {
		return true
	}
	if in.Recipient == PartyProxy {
		return in.Door.AuthorisationSHA256 != ""
	}
	return in.Door.CitizenIDLast4 != ""
}

// JudgeFix says what is wrong with a fix taken at a door whose address is at address:
// none (missing), too far, too vague, or nothing; distance is the fix's from the address.
func JudgeFix(limits FixLimits, address orb.Point, fix *orb.Point, accuracyM float64) (kinds []FlagKind, distanceM float64) {
	if fix == nil {
		return []FlagKind{FlagFixMissing}, 0
	}
	distanceM = geo.Distance(address, *fix)
	if distanceM > float64(limits.MaxDistanceM) {
		kinds = append(kinds, FlagFixFar)
	}
	if accuracyM > float64(limits.MaxAccuracyM) {
		kinds = append(kinds, FlagFixInaccurate)
	}
	return kinds, distanceM
}

// fieldFlags are the flags an event a courier reported at a door (its row's AtDoor) raises: its fix judged
// against the address, and at a pickup the checklist's documents not checked. Events
// reported by staff away from the door raise none.
func (s *Service) fieldFlags(p auth.Principal, d Dossier, in EventInput, proc catalog.Procedure, now time.Time) []Flag {
	if p.Role != auth.RoleCourier || !eventRules[in.Event].AtDoor {
		return nil
	}
	flag := func(kind FlagKind) Flag {
		return Flag{DossierID: d.ID, PostOfficeID: d.PostOfficeID, CourierID: p.CourierID, Event: in.Event, Kind: kind, At: now}
	}
	var flags []Flag
	kinds, distance := JudgeFix(s.cfg.Fix, d.Applicant.Location, in.Point, in.AccuracyM)
	for _, kind := range kinds {
		f := flag(kind)
		if kind != FlagFixMissing {
			accuracy := in.AccuracyM
			f.DistanceM, f.AccuracyM = &distance, &accuracy
		}
		flags = append(flags, f)
	}
	if eventRules[in.Event].takes(FieldDocuments) {
		var gaps []string
		for _, doc := range proc.Documents {
			if !slices.Contains(in.DocumentsChecked, doc.Name) {
				gaps = append(gaps, doc.Name)
			}
		}
		if len(gaps) > 0 {
			f := flag(FlagDocumentsMissing)
			f.Documents = gaps
			flags = append(flags, f)
		}
	}
	return flags
}

// Flags lists the flags of a dossier the caller may see, newest first.
func (s *Service) Flags(ctx context.Context, id uuid.UUID, page domain.Page) (domain.List[Flag], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Flag]{}, err
	}
	if _, _, err := s.Get(ctx, id); err != nil {
		return domain.List[Flag]{}, err
	}
	return s.store.Flags(ctx, FlagFilter{DossierID: id}, page)
}

// OfficeFlags lists the flags raised at a post office's dossiers, newest first: a
// dispatcher's own offices (another's answers NOT_FOUND), any for an admin.
func (s *Service) OfficeFlags(ctx context.Context, office uuid.UUID, page domain.Page) (domain.List[Flag], error) {
	if err := page.Validate(); err != nil {
		return domain.List[Flag]{}, err
	}
	if err := s.ownOffice(ctx, office); err != nil {
		return domain.List[Flag]{}, err
	}
	return s.store.Flags(ctx, FlagFilter{PostOfficeIDs: []uuid.UUID{office}}, page)
}
