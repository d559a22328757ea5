package catalog

import (
	"fmt"
	"regexp"

	"github.com/google/uuid"

	"courierd/domain"
)

// DocumentForm is how a paper must be handed in.
type DocumentForm string

const (
	FormOriginal      DocumentForm = "original"
	FormCopy          DocumentForm = "copy"
	FormCertifiedCopy DocumentForm = "certified_copy"
)

// RequiredDocument is one line of a procedure's checklist, which the courier checks at
// the door before taking a dossier.
type RequiredDocument struct {
	Name     string
	Form     DocumentForm
	Quantity int
}

// Procedure is a catalogued administrative procedure. ProcessingDays is the legal time in
// working days that the appointment date is computed from; amounts are whole VND.
type Procedure struct {
	ID             uuid.UUID
	Code           string
	Name           string
	AgencyKind     AgencyKind
	ProcessingDays int
	FeeVND         int64
	PostageVND     int64
	// CollectionSurchargeVND is what the post charges for collecting the fee on the
	// agency's behalf (cash to the courier, VietQR, or at the counter).
	CollectionSurchargeVND int64
	PickupByPost           bool
	ReturnByPost           bool
	// IdentityCheckRequired: the recipient of a result proves who they are at the door.
	IdentityCheckRequired bool
	ProxyAllowed          bool
	// DeliverySignatureRequired: a delivery carries the recipient's signature;
	// DeliveryProxyPhotoRequired: a delivery to a proxy carries a photo of the handover.
	// Both are true unless an administrator says otherwise.
	DeliverySignatureRequired  bool
	DeliveryProxyPhotoRequired bool
	// Documents is the checklist a courier checks a dossier against at pickup; each name
	// is how a device names the document it found.
	Documents []RequiredDocument
	Revision
}

type ProcedureFilter struct {
	Code         string
	AgencyKind   AgencyKind
	PickupByPost *bool
	ReturnByPost *bool
	NameQuery    string
}

// procedureCode is the national database's code ("1.001193"), optionally followed by a
// province's local suffix ("1.001193.000.00.00.H12").
var procedureCode = regexp.MustCompile(`^[12]\.[0-9]{6}(\.[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2})?$`)

func (pr Procedure) Validate() error {
	var p domain.Problems
	p.Check(procedureCode.MatchString(pr.Code), "code", "must be a national procedure code such as 1.001193 or 1.001193.000.00.00.H12")
	checkName(&p, "name", pr.Name, 500)
	p.Check(oneOf(pr.AgencyKind, agencyKinds...), "agency_kind", "must be one of department, commune_committee, police, social_insurance, other")
	p.Check(pr.ProcessingDays >= 0 && pr.ProcessingDays <= 365, "processing_days", "must be between 0 (same day) and 365 working days")
	p.CheckVND(pr.FeeVND, 0, domain.MaxFeeVND, "fee_vnd")
	p.CheckVND(pr.PostageVND, 0, domain.MaxPostageVND, "postage_vnd")
	p.CheckVND(pr.CollectionSurchargeVND, 0, domain.MaxSurchargeVND, "collection_surcharge_vnd")
	p.Check(len(pr.Documents) <= 50, "documents", "at most 50 documents")
	seen := map[string]bool{}
	for i, d := range pr.Documents {
		field := fmt.Sprintf("documents[%d]", i)
		checkName(&p, field+".name", d.Name, 300)
		// A device reports the documents it found by name: two of one name could not be told apart.
		p.Check(!seen[d.Name], field+".name", "is already in the list")
		seen[d.Name] = true
		p.Check(oneOf(d.Form, FormOriginal, FormCopy, FormCertifiedCopy), field+".form", "must be original, copy or certified_copy")
		p.Check(d.Quantity >= 1 && d.Quantity <= 20, field+".quantity", "must be between 1 and 20")
	}
	return p.Err()
}

func (pr Procedure) WithKey(key string) (Procedure, error) {
	id, err := idKey(key, "procedure")
	pr.ID = id
	return pr, err
}
