package counter

import (
	"github.com/google/uuid"
	"testing"

	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// TestManifestRulesAgreeWithTheMachine: for each direction, every state an item may wait
// in has an event the dossier's machine accepts there, and only those states do; the
// sender and receiver are the parties the direction names, and the two directions go
// opposite ways.
func TestManifestRulesAgreeWithTheMachine(t *testing.T) {
	if len(manifestRule) != 2 {
		t.Fatalf("%d directions, want to_agency and from_agency", len(manifestRule))
	}
	for dir, rule := range manifestRule {
		for _, s := range dossier.States {
			e, ready := rule.events[s]
			if !ready {
				continue
			}
			if _, err := dossier.Next(s, e); err != nil {
				t.Errorf("%s: an item waiting %s is received by %s, which the machine refuses: %v", dir, s, e, err)
			}
		}
		if rule.from == rule.to {
			t.Errorf("%s goes from %s to itself", dir, rule.from)
		}
		other := manifestRule[map[ManifestDirection]ManifestDirection{ToAgency: FromAgency, FromAgency: ToAgency}[dir]]
		if other.from != rule.to || other.to != rule.from {
			t.Errorf("%s and its opposite do not go opposite ways", dir)
		}
	}
}

// TestCanAct: over every role and both kinds of party, only admins and the system act
// for anyone; a dispatcher for their own offices; a clerk for their own agency.
func TestCanAct(t *testing.T) {
	office, agency := dossier.Party{Kind: dossier.PartyPostOffice, ID: uuid.New()}, dossier.Party{Kind: dossier.PartyAgency, ID: uuid.New()}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleSystem, auth.RoleDispatcher, auth.RoleClerk, auth.RoleCourier, auth.RoleCitizen} {
		for _, own := range []bool{false, true} {
			p := auth.Principal{Role: role}
			if own {
				p.PostOfficeIDs, p.AgencyID = []uuid.UUID{office.ID}, agency.ID
			}
			all := role == auth.RoleAdmin || role == auth.RoleSystem
			if got, want := canAct(p, office), all || (own && role == auth.RoleDispatcher); got != want {
				t.Errorf("%s (own %v) acts for the office: %v, want %v", role, own, got, want)
			}
			if got, want := canAct(p, agency), all || (own && role == auth.RoleClerk); got != want {
				t.Errorf("%s (own %v) acts for the agency: %v, want %v", role, own, got, want)
			}
		}
	}
}
