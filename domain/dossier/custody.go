package dossier

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// PartyKind is who can hold a dossier or a result.
type PartyKind string

const (
	PartyApplicant  PartyKind = "applicant" // the applicant, or the proxy they authorised
	PartyCourier    PartyKind = "courier"
	PartyPostOffice PartyKind = "post_office"
	PartyAgency     PartyKind = "agency"
	// PartyProxy names a recipient only: someone the applicant authorised to receive the
	// result (the ledger records the applicant's side as PartyApplicant).
	PartyProxy PartyKind = "proxy"
)

// Party is one holder. The applicant's ID is the dossier's own: there is one per dossier.
type Party struct {
	Kind PartyKind
	ID   uuid.UUID
}

func (p Party) String() string { return string(p.Kind) + ":" + p.ID.String() }

// Proof is what backs a handover. Photos and signatures are referenced by content hash.
type Proof struct {
	SignatureSHA256 string
	PhotoSHA256     string
	SealNumber      string
	ManifestID      uuid.UUID
	RecipientName   string // a proxy's name, when not the applicant
	IdentityMethod  string // how the recipient proved who they are
}

// CustodyEntry is one handover in a dossier's ledger. Entries are chained: each hash
// covers the entry and the previous hash, so changing or removing any entry breaks every
// hash after it, and the dossier keeps the count and the last hash to catch a removed tail.
type CustodyEntry struct {
	DossierID  uuid.UUID
	Seq        int
	Item       string // "dossier" on the way in, "result" on the way back
	From, To   Party
	Event      Event
	Point      *orb.Point
	AccuracyM  float64
	DeviceTime *time.Time
	ServerTime time.Time
	Proof      Proof
	ActorID    uuid.UUID
	PrevHash   string
	Hash       string
}

// canonical is the entry's fields in a fixed form, the input of its hash: a JSON array of
// strings, so that no text in one free-text field can pass for the boundary of the next.
func (e CustodyEntry) canonical() []byte {
	point, device := "-", "-"
	if e.Point != nil {
		point = fmt.Sprintf("%.7f,%.7f", e.Point.Lon(), e.Point.Lat())
	}
	if e.DeviceTime != nil {
		device = e.DeviceTime.UTC().Format(time.RFC3339Nano)
	}
	fields, err := json.Marshal([]string{
		"v1", e.DossierID.String(), fmt.Sprint(e.Seq), e.Item, e.From.String(), e.To.String(), string(e.Event),
		point, fmt.Sprintf("%.1f", e.AccuracyM), device, e.ServerTime.UTC().Format(time.RFC3339Nano),
		e.Proof.SignatureSHA256, e.Proof.PhotoSHA256, e.Proof.SealNumber, e.Proof.ManifestID.String(),
		e.Proof.RecipientName, e.Proof.IdentityMethod, e.ActorID.String(), e.PrevHash,
	})
	if err != nil {
		panic(err) // a slice of strings always encodes
	}
	return fields
}

// ComputeHash is the entry's hash over its fields and the previous hash.
func (e CustodyEntry) ComputeHash() string {
	sum := sha256.Sum256(e.canonical())
	return hex.EncodeToString(sum[:])
}

// Verification is the outcome of checking a dossier's chain.
type Verification struct {
	Intact      bool
	Entries     int
	FirstBroken int    // the seq of the first entry that does not check out; 0 when intact
	Reason      string // why, in words
}

// VerifyChain checks entries (in seq order) against each other and against the count and
// head hash the dossier recorded.
func VerifyChain(entries []CustodyEntry, count int, head string) Verification {
	prev := ""
	for i, e := range entries {
		broken := func(reason string) Verification {
			return Verification{Entries: len(entries), FirstBroken: e.Seq, Reason: reason}
		}
		switch {
		case e.Seq != i+1:
			return Verification{Entries: len(entries), FirstBroken: i + 1, Reason: fmt.Sprintf("entry %d is missing", i+1)}
		case e.PrevHash != prev:
			return broken("its link to the previous entry does not match")
		case e.ComputeHash() != e.Hash:
			return broken("its content does not match its hash: it was changed after it was written")
		}
		prev = e.Hash
	}
	switch {
	case len(entries) < count:
		return Verification{Entries: len(entries), FirstBroken: len(entries) + 1, Reason: fmt.Sprintf("the dossier records %d entries; entries after %d were removed", count, len(entries))}
	case len(entries) > count || prev != head:
		return Verification{Entries: len(entries), FirstBroken: count + 1, Reason: "the ledger does not end where the dossier says it does"}
	}
	return Verification{Intact: true, Entries: len(entries)}
}

// endsWith checks an intact chain against the holder the dossier records: the last entry's
// receiver, or, before any entry, where a dossier can be born (with the applicant, or with
// the agency at whose desk it was lodged).
func (v Verification) endsWith(entries []CustodyEntry, d Dossier) Verification {
	holds := Party{PartyApplicant, d.ID}
	if len(entries) > 0 {
		holds = entries[len(entries)-1].To
	} else if d.Holder.Kind == PartyAgency {
		holds = Party{PartyAgency, d.AgencyID}
	}
	if holds != d.Holder {
		return Verification{Entries: len(entries), FirstBroken: max(len(entries), 1),
			Reason: fmt.Sprintf("the ledger leaves the item with %s, but the dossier says %s holds it", holds, d.Holder)}
	}
	return v
}
