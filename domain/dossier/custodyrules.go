package dossier

import (
	"slices"

	"courierd/domain"
	"courierd/domain/auth"
)

// CodeNotHeld: a handover whose giver does not hold the item (a result still in a
// courier's bag cannot be handed over at the counter or sent back to the agency).
const CodeNotHeld domain.Code = "NOT_HELD"

// CodeOnManifest: a handover at the desk of an item that an open manifest carries.
const CodeOnManifest domain.Code = "ON_OPEN_MANIFEST"

// EventLodge is the applicant handing a dossier in at a post office's counter: the first
// custody entry of a dossier that starts at the post office. It is no event of the state
// machine: the dossier is born with it.
const EventLodge Event = "lodge"

// CustodyRule is how one event moves a physical item: from whom, to whom, and who records it.
type CustodyRule struct {
	From []PartyKind // who may hold the item before; anyone else holding it refuses the event
	To   PartyKind   // who holds it after (a courier: the one the event names or reports)
	// By: the roles that record it, each acting for one side of the handover (or an
	// admin): the event's row's By. The system and the applicant's own choices never move
	// anything.
	By      []auth.Role
	Witness string // who confirms it, and how: what the proof carries
	// Kept: the receiver may hold the item already, and then nothing moves (a result
	// dispatched again to the courier who kept it after a failed attempt).
	Kept bool
	// CourierKeeps: a courier who reports it takes the item into their bag instead, until
	// they hand it in (arrive_post_office).
	CourierKeeps bool
}

// lodging is the first handover of a dossier handed in at a post office's counter.
var lodging = CustodyRule{From: []PartyKind{PartyApplicant}, To: PartyPostOffice,
	By: []auth.Role{auth.RoleDispatcher, auth.RoleAdmin}, Witness: "the applicant, given the receipt at the counter"}

// CustodyRules is every event that moves a physical item, as the event table declares
// them (each row's Custody, recorded by its By), and the lodging: custody entries are
// facts, so an event not listed here never writes one, and a listed event writes one only
// between the parties listed.
var CustodyRules = custodyRules()

func custodyRules() map[Event]CustodyRule {
	rules := map[Event]CustodyRule{EventLodge: lodging}
	for e, row := range eventRules {
		if row.Custody != nil {
			h := *row.Custody
			h.By = row.By
			rules[e] = h
		}
	}
	return rules
}

// ImpliedHandovers: facts at the door that prove the stop's courier had the item (the
// rows' Implies). When the ledger still leaves it at the post office (the courier's
// handheld did not record taking it), the fact carries that handover too, as an entry of
// its own without proof: the handover happened, only when is not known.
var ImpliedHandovers = impliedHandovers()

func impliedHandovers() map[Event]Event {
	implied := map[Event]Event{}
	for e, row := range eventRules {
		if row.Implies != "" {
			implied[e] = row.Implies
		}
	}
	return implied
}

// handoverTo is who holds the item after a handover event.
func handoverTo(p auth.Principal, d Dossier, in EventInput, tasks []Task, h CustodyRule) Party {
	if h.CourierKeeps && p.Role == auth.RoleCourier {
		return Party{PartyCourier, p.CourierID}
	}
	switch h.To {
	case PartyPostOffice:
		return Party{PartyPostOffice, d.PostOfficeID}
	case PartyAgency:
		return Party{PartyAgency, d.AgencyID}
	case PartyApplicant:
		return Party{PartyApplicant, d.ID}
	}
	// The courier of the stop the event moves.
	t, _ := taskOf(tasks, eventRules[in.Event].Task.Kind)
	return Party{PartyCourier, t.CourierID}
}

// move is one handover an event writes.
type move struct {
	event Event
	to    Party
}

// custody decides what an event hands over, in order: an implied handover first (see
// ImpliedHandovers), then the event's own.
func custody(p auth.Principal, d Dossier, in EventInput, tasks []Task) ([]move, error) {
	var moves []move
	if implied, ok := ImpliedHandovers[in.Event]; ok && d.Holder.Kind == PartyPostOffice {
		step := in
		step.Event = implied
		m, err := handover(p, d, step, tasks)
		if err != nil || m == nil {
			return nil, err
		}
		moves, d.Holder = append(moves, *m), m.to
	}
	m, err := handover(p, d, in, tasks)
	if err != nil || m == nil {
		return moves, err
	}
	return append(moves, *m), nil
}

// handover decides whether one event moves the item and to whom (nil: it moves nothing),
// refusing a handover the reporter may not record or whose giver does not hold the item.
func handover(p auth.Principal, d Dossier, in EventInput, tasks []Task) (*move, error) {
	h, ok := CustodyRules[in.Event]
	if !ok {
		return nil, nil
	}
	if !p.Is(h.By...) {
		return nil, domain.Errorf(domain.CodeForbidden, "your role (%s) does not hand over or receive items (%s)", p.Role, in.Event)
	}
	to := handoverTo(p, d, in, tasks, h)
	if h.Kept && to == d.Holder {
		return nil, nil
	}
	item := itemOf(d.State)
	switch {
	case slices.Contains(h.From, PartyCourier) && d.Holder.Kind == PartyCourier && p.Role == auth.RoleCourier && d.Holder.ID != p.CourierID:
		return nil, domain.Errorf(CodeNotInBag, "this %s is not in your bag", item)
	case slices.Equal(h.From, []PartyKind{PartyCourier}) && d.Holder.Kind != PartyCourier:
		return nil, domain.Errorf(CodeNotInBag, "no courier carries this %s: the %s has it", item, d.Holder.Kind)
	case !slices.Contains(h.From, d.Holder.Kind):
		return nil, domain.Errorf(CodeNotHeld, "the %s has this %s, not the %s: it must be handed back first", d.Holder.Kind, item,
			h.From[0])
	}
	return &move{in.Event, to}, nil
}
