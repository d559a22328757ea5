package dossier_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"courierd/domain"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// TestDeliveryNeeds walks every procedure setting (signature, proxy photo, identity check)
// × recipient × every subset of the proof a courier may bring, and requires a delivery to
// be refused with PROOF_MISSING naming exactly the missing things, or to pass.
func TestDeliveryNeeds(t *testing.T) {
	const hash = "abababababababababababababababababababababababababababababababab"
	for settings := range 8 {
		proc := catalog.Procedure{DeliverySignatureRequired: settings&1 != 0, DeliveryProxyPhotoRequired: settings&2 != 0,
			IdentityCheckRequired: settings&4 != 0, ProxyAllowed: true}
		for _, recipient := range []dossier.PartyKind{dossier.PartyApplicant, dossier.PartyProxy} {
			for given := range 32 {
				in := dossier.EventInput{Event: dossier.EventDeliver, Recipient: recipient}
				if given&1 != 0 {
					in.Proof.SignatureSHA256 = hash
				}
				if given&2 != 0 {
					in.Proof.PhotoSHA256 = hash
				}
				if given&4 != 0 {
					in.Door.HandoverCode = "123456"
				}
				if given&8 != 0 {
					in.Door.CitizenIDLast4 = "1234"
				}
				if given&16 != 0 {
					in.Door.AuthorisationSHA256 = hash
				}
				// What the rule must name, from its words: the signature where required; the
				// photo where a proxy receives and it is required; the identity where required
				// and neither the code nor the recipient's own proof (the applicant's ID
				// digits, a proxy's letter) was given.
				var want []string
				if proc.DeliverySignatureRequired && given&1 == 0 {
					want = append(want, "proof.signature_sha256")
				}
				if proc.DeliveryProxyPhotoRequired && recipient == dossier.PartyProxy && given&2 == 0 {
					want = append(want, "proof.photo_sha256")
				}
				ownProof := given&8 != 0
				identityField := "handover_code"
				if recipient == dossier.PartyProxy {
					ownProof, identityField = given&16 != 0, "authorisation_sha256"
				}
				if proc.IdentityCheckRequired && given&4 == 0 && !ownProof {
					want = append(want, identityField)
				}
				err := dossier.CheckFieldReport(proc, in)
				name := fmt.Sprintf("settings %03b, %s, proof %05b", settings, recipient, given)
				if len(want) == 0 {
					if err != nil {
						t.Fatalf("%s: refused %v", name, err)
					}
					continue
				}
				e, ok := domain.AsError(err)
				if !ok || e.Code != dossier.CodeProofMissing {
					t.Fatalf("%s: %v, want PROOF_MISSING", name, err)
				}
				var got []string
				for _, f := range e.Fields {
					got = append(got, f.Field)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: named %v, want %v", name, got, want)
				}
			}
		}
	}
}

// TestChecklistNames: a pickup may name only documents of its procedure's checklist; each
// unknown name is a field error at its index. Other events take no documents.
func TestChecklistNames(t *testing.T) {
	proc := catalog.Procedure{Documents: []catalog.RequiredDocument{{Name: "Tờ khai"}, {Name: "Căn cước"}, {Name: "Ảnh 4x6"}}}
	known := []string{"Tờ khai", "Căn cước", "Ảnh 4x6"}
	for mask := range 1 << len(known) {
		var checked []string
		for i, name := range known {
			if mask&(1<<i) != 0 {
				checked = append(checked, name)
			}
		}
		if err := dossier.CheckFieldReport(proc, dossier.EventInput{Event: dossier.EventPickUp, DocumentsChecked: checked}); err != nil {
			t.Fatalf("%v, all on the checklist: %v", checked, err)
		}
		for at := 0; at <= len(checked); at++ {
			withUnknown := slices.Insert(slices.Clone(checked), at, "Giấy lạ")
			err := dossier.CheckFieldReport(proc, dossier.EventInput{Event: dossier.EventPickUp, DocumentsChecked: withUnknown})
			e, ok := domain.AsError(err)
			if !ok || e.Code != domain.CodeValidationFailed || len(e.Fields) != 1 || e.Fields[0].Field != fmt.Sprintf("documents_checked[%d]", at) {
				t.Fatalf("%v: %v, want documents_checked[%d] refused", withUnknown, err, at)
			}
		}
	}
}

// TestJudgeFix generates fixes around an address: inside and outside the distance limit,
// within and beyond the accuracy limit, and missing, and requires exactly the flags due.
func TestJudgeFix(t *testing.T) {
	limits := dossier.FixLimits{MaxDistanceM: 500, MaxAccuracyM: 200}
	address := orb.Point{106.6889, 10.9732}
	if kinds, _ := dossier.JudgeFix(limits, address, nil, 0); !slices.Equal(kinds, []dossier.FlagKind{dossier.FlagFixMissing}) {
		t.Fatalf("no fix: %v", kinds)
	}
	for _, distance := range []float64{0, 1, 250, 495, 505, 1000, 17_000} {
		for _, accuracy := range []float64{0, 5, 195, 205, 4_500} {
			for bearing := 0.0; bearing < 360; bearing += 45 {
				fix := geo.PointAtBearingAndDistance(address, bearing, distance)
				kinds, measured := dossier.JudgeFix(limits, address, &fix, accuracy)
				var want []dossier.FlagKind
				if distance > float64(limits.MaxDistanceM) {
					want = append(want, dossier.FlagFixFar)
				}
				if accuracy > float64(limits.MaxAccuracyM) {
					want = append(want, dossier.FlagFixInaccurate)
				}
				if !slices.Equal(kinds, want) || measured < distance-1 || measured > distance+1 {
					t.Fatalf("%.0f m at %.0f°, accuracy %.0f m: %v at %.1f m, want %v", distance, bearing, accuracy, kinds, measured, want)
				}
			}
		}
	}
}
