// Package dossier is the core of courierd, the aggregate: dossiers and their field tasks,
// each with a closed state machine; the events that move them (Apply, and PrepareBatch
// for a batch such as a manifest), each event one row of the event table (eventtable.go):
// who reports it, what it takes, its moves, stop, handover, clock, notice and wording; the
// custody ledger, hash-chained per dossier, that records every handover; the legal clock
// (appointment dates in working days, targets for the postal legs); the booking window;
// and the jobs an event schedules. The areas that act on dossiers (applicant, counter,
// dispatch, fieldsync) go through its Service.
//
// Imports allowed: the standard library, courierd/domain and its catalog, auth, audit and
// pii packages, uuid, orb and errgroup (a batch of new dossiers, intake.go). Never the areas
// built on it.
package dossier

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/catalog"
	"courierd/domain/pii"
)

// PaymentMethod is how the applicant pays the fee and postage.
type PaymentMethod string

const (
	PayCashToCourier PaymentMethod = "cash_to_courier"
	PayVietQR        PaymentMethod = "vietqr"
	PayOnline        PaymentMethod = "online"
	PayAtCounter     PaymentMethod = "at_counter"
	PayNothingDue    PaymentMethod = "nothing_due"
)

// Channel is where a dossier came from.
type Channel string

const (
	ChannelCounter    Channel = "counter"    // a post-office counter
	ChannelClerk      Channel = "clerk"      // an agency's one-stop desk
	ChannelDispatcher Channel = "dispatcher" // taken by phone or Zalo at the post office
	ChannelPortal     Channel = "portal"     // a public-service portal: its webhook, or its backlog in a batch
)

// Applicant is who applied. The citizen ID number is held in clear only on the way in;
// stored, it is sealed, indexed blind, and shown masked.
type Applicant struct {
	Name      string
	Phone     string
	CitizenID string // clear, only when creating
	// CitizenIDSealed is the number sealed: opened only to match an ID card at the door.
	CitizenIDSealed string
	CitizenIDTail   string // last three digits, for the masked form
	PhoneIndex      string // blind index of Phone
	Address         string
	AdminUnitCode   string
	Location        orb.Point
}

// MaskedCitizenID is the ID number as staff and citizens see it: *********123.
func (a Applicant) MaskedCitizenID() string {
	return strings.Repeat("*", 9) + a.CitizenIDTail
}

// MaskedPhone is the phone as anyone but the dossier's own staff sees it.
func (a Applicant) MaskedPhone() string { return pii.MaskPhone(a.Phone) }

// Dossier is one application's papers on their way to the agency and the result on its
// way back. Version grows on every change.
type Dossier struct {
	ID                 uuid.UUID
	Receipt            ReceiptCode
	ProcedureID        uuid.UUID
	AgencyID           uuid.UUID
	PostOfficeID       uuid.UUID
	Applicant          Applicant
	Pickup             bool // the post collects the dossier from the applicant
	Return             bool // the post brings the result to the applicant
	FeeVND             int64
	PostageVND         int64
	SurchargeVND       int64 // the post's charge for collecting the fee on the agency's behalf
	Payment            PaymentMethod
	DeliveryChoice     DeliveryChoice
	Channel            Channel
	PortalRef          string
	OutsideServiceArea bool // the address lies outside the post office's area: flagged for the dispatcher
	State              State
	Rejected           bool // the agency refused the dossier; what goes back is the dossier itself
	FailedAttempts     int
	Holder             Party
	Handover           Handover // the current delivery trip's door code
	Clock
	CustodyCount int
	CustodyHead  string
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// DueVND is everything the applicant pays: the procedure's fee, postage, and the
// collection-on-behalf surcharge.
func (d Dossier) DueVND() int64 { return d.FeeVND + d.PostageVND + d.SurchargeVND }

// DeliveryChoice is how the applicant wants the result: at home, or from the post
// office's counter; empty until they choose.
type DeliveryChoice string

const (
	ChoiceHome       DeliveryChoice = "home"
	ChoicePostOffice DeliveryChoice = "post_office"
)

// citizenIDShape is the 12-digit personal identification number: a 3-digit province
// code (001–096), a century-and-sex digit, two digits of the birth year, six more.
var citizenIDShape = regexp.MustCompile(`^0[0-9]{2}[0-9]{9}$`)

// ValidCitizenID reports whether s has the shape of a personal identification number.
func ValidCitizenID(s string) bool {
	if !citizenIDShape.MatchString(s) {
		return false
	}
	province := (int(s[1]-'0'))*10 + int(s[2]-'0')
	return province >= 1 && province <= 96
}

// NewDossier is what a clerk, a dispatcher or a portal sends to open a dossier.
type NewDossier struct {
	ProcedureID  uuid.UUID
	AgencyID     uuid.UUID
	PostOfficeID uuid.UUID // optional: by default the office whose area holds the address
	Applicant    Applicant
	Pickup       bool
	Return       bool
	Payment      PaymentMethod
	Channel      Channel
	PortalRef    string
}

// validate checks the request on its own; rules that need the catalog come after.
func (n *NewDossier) validate() error {
	var p domain.Problems
	a := &n.Applicant
	a.Name = strings.TrimSpace(a.Name)
	p.Check(a.Name != "" && utf8.RuneCountInString(a.Name) <= 120, "applicant.name", "is required, at most 120 characters")
	phone := domain.NormalizePhone(a.Phone)
	p.Check(phone != "", "applicant.phone", "must be a Vietnamese mobile number such as 0912345678")
	a.Phone = phone
	a.CitizenID = strings.TrimSpace(a.CitizenID)
	p.Check(ValidCitizenID(a.CitizenID), "applicant.citizen_id", "must be the 12-digit personal identification number")
	a.Address = strings.TrimSpace(a.Address)
	p.Check(a.Address != "" && utf8.RuneCountInString(a.Address) <= 300, "applicant.address", "is required, at most 300 characters")
	p.Check(a.AdminUnitCode != "", "applicant.admin_unit_code", "is required")
	p.Check(n.ProcedureID != uuid.Nil, "procedure_id", "is required")
	p.Check(n.AgencyID != uuid.Nil, "agency_id", "is required")
	p.Check(n.Pickup || n.Return, "pickup", "a dossier needs the post for the pickup, the return, or both")
	p.Check(n.Payment == "" || oneOf(n.Payment, PayCashToCourier, PayVietQR, PayOnline, PayAtCounter, PayNothingDue), "payment_method",
		"must be cash_to_courier, vietqr, online, at_counter or nothing_due")
	p.Check(len(n.PortalRef) <= 100, "portal_ref", "at most 100 characters")
	if err := p.Err(); err != nil {
		return err
	}
	var point domain.Problems
	catalog.CheckPoint(&point, "applicant.location", a.Location)
	return point.Err()
}

func oneOf[V comparable](v V, allowed ...V) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}
