package dossier

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
)

// EventInput is an event as a person or device reports it.
type EventInput struct {
	Event   Event
	Version int // the dossier version the caller acted on
	// CourierID: who is given the pickup (assign_pickup) or the delivery (dispatch_delivery).
	CourierID uuid.UUID
	// Date: the day planned (schedule_pickup, schedule_redelivery, choose_delivery), and
	// Slot: the applicant's window that day, from those the post office offers.
	Date time.Time
	Slot *Slot
	// Address corrects where the applicant will be (the applicant's own choices).
	Address *Address
	// Choice: home or post_office (choose_delivery).
	Choice DeliveryChoice
	// RouteSeq and PlannedArrival: where an assignment puts the stop in the courier's
	// published route, for their device (0 and nil outside a plan).
	RouteSeq       int
	PlannedArrival *time.Time
	// Reason: why an attempt failed (pickup_failed, delivery_fail).
	Reason FailureReason
	// Note: what the agency found missing (agency_reject), or more on a failure.
	Note       string
	Point      *orb.Point
	AccuracyM  float64
	DeviceTime *time.Time
	Proof      Proof
	// Recipient: applicant or proxy (deliver, collect_at_counter).
	Recipient PartyKind
	// Door: how the recipient of a delivery proved who they are.
	Door DoorCheck
	// DocumentsChecked: the names, from the procedure's checklist, of the papers the
	// courier found at a pickup (pick_up).
	DocumentsChecked []string
	// Fact marks what a courier recorded in the field and a device reports later: the
	// courier is the authority on what happened at the door, so no dossier version is
	// asked for; assignment and state still are.
	Fact bool
}

// eventRoles: who may report each event that hands nothing over (CustodyRules says who
// records those). A courier may report only on their own stops. Applicants act through
// their own choices (BookPickup, CancelPickup, ChooseDelivery).
var eventRoles = map[Event][]auth.Role{
	EventSchedulePickup:     {auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
	EventAssignPickup:       {auth.RoleDispatcher, auth.RoleAdmin},
	EventSetOut:             {auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin},
	EventCancel:             {auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
	EventChooseDelivery:     {auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
	EventAssignCollection:   {auth.RoleDispatcher, auth.RoleAdmin},
	EventDispatchDelivery:   {auth.RoleDispatcher, auth.RoleAdmin},
	EventScheduleRedelivery: {auth.RoleDispatcher, auth.RoleAdmin, auth.RoleCitizen},
	EventHold:               {auth.RoleDispatcher, auth.RoleAdmin, auth.RoleSystem, auth.RoleCitizen},
	EventPickupFailed:       {auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin},
	EventDeliveryFail:       {auth.RoleCourier, auth.RoleDispatcher, auth.RoleAdmin},
	EventAgencyAccept:       {auth.RoleClerk, auth.RoleAdmin, auth.RoleSystem}, // the system: a portal speaking for the agency
	EventAgencyReject:       {auth.RoleClerk, auth.RoleAdmin},
	EventResultReady:        {auth.RoleClerk, auth.RoleAdmin, auth.RoleSystem},
}

// rolesFor is who may report an event, and whether it is a dossier event at all.
func rolesFor(e Event) ([]auth.Role, bool) {
	if h, ok := CustodyRules[e]; ok && e != EventLodge {
		return h.By, true
	}
	roles, ok := eventRoles[e]
	return roles, ok
}

// check validates the details each event needs.
func (in EventInput) check(today time.Time) error {
	var p domain.Problems
	p.Check(in.Version > 0 || in.Fact, "version", "send the version of the dossier you acted on")
	switch in.Event {
	case EventAssignPickup, EventDispatchDelivery, EventAssignCollection:
		p.Check(in.CourierID != uuid.Nil, "courier_id", "name the courier")
	case EventSchedulePickup, EventScheduleRedelivery:
		p.Check(!in.Date.IsZero() && !in.Date.Before(today), "date", "must be today or later, as YYYY-MM-DD")
	case EventChooseDelivery:
		p.Check(in.Choice == ChoiceHome || in.Choice == ChoicePostOffice, "choice", "must be home or post_office")
		p.Check(in.Choice != ChoiceHome || (!in.Date.IsZero() && !in.Date.Before(today)), "date", "must be today or later, as YYYY-MM-DD")
	case EventPickupFailed, EventDeliveryFail:
		p.Check(oneOf(in.Reason, FailNotAtHome, FailRefused, FailWrongAddress, FailIdentityUnknown, FailOther), "reason",
			"must be not_at_home, refused, wrong_address, identity_not_proven or other")
		p.Check(in.Reason != FailOther || in.Note != "", "note", "say what happened when the reason is other")
	case EventAgencyReject:
		p.Check(in.Note != "", "note", "say what the dossier lacks, for the applicant")
	case EventDeliver, EventCollectAtCounter, EventCollectAtAgency:
		p.Check(oneOf(in.Recipient, PartyApplicant, PartyProxy), "recipient", "must be applicant or proxy")
		// At the door the server verifies the identity itself (verifyDoor); at a desk the
		// clerk says how they checked it.
		p.Check(in.Event == EventDeliver || in.Proof.IdentityMethod != "", "proof.identity_method", "say how the recipient proved who they are")
		p.Check(in.Recipient != PartyProxy || in.Proof.RecipientName != "", "proof.recipient_name", "name the proxy")
	}
	// A field that the event does not take is refused, not ignored: who may set a courier,
	// a day or a slot is decided by the events that take them (a courier reporting a
	// pickup cannot name another courier, or move the day, on the way).
	scheduling := oneOf(in.Event, EventSchedulePickup, EventScheduleRedelivery, EventChooseDelivery)
	p.Check(in.CourierID == uuid.Nil || oneOf(in.Event, EventAssignPickup, EventDispatchDelivery, EventAssignCollection), "courier_id",
		"is taken only by assign_pickup, assign_collection and dispatch_delivery")
	p.Check(in.Date.IsZero() || scheduling, "date", "is taken only by schedule_pickup, schedule_redelivery and choose_delivery")
	p.Check(in.Slot == nil || scheduling, "slot", "is taken only by schedule_pickup, schedule_redelivery and choose_delivery")
	// An applicant's choice may also come as the redelivery or the hold it amounts to.
	p.Check(in.Choice == "" || oneOf(in.Event, EventChooseDelivery, EventScheduleRedelivery, EventHold), "choice",
		"is taken only by choose_delivery, schedule_redelivery and hold")
	p.Check(in.DocumentsChecked == nil || in.Event == EventPickUp, "documents_checked", "is taken only by pick_up")
	in.Door.Check(&p, "")
	p.Check(len(in.Note) <= 500, "note", "at most 500 characters")
	if in.Point != nil {
		catalog.CheckPoint(&p, "point", *in.Point)
		p.Check(in.AccuracyM >= 0 && in.AccuracyM <= 10_000, "accuracy_m", "must be between 0 and 10000 metres")
	}
	return p.Err()
}

// Decision is an event's effect on a dossier, to run inside the dossier's transaction.
type Decision func(d Dossier, tasks []Task) (Change, error)

// Apply reports an event on a dossier: it moves the dossier and the task concerned,
// records the handover in the custody ledger, restarts the clocks, and writes the
// history and the audit entry, all in one transaction. A stale version answers
// VERSION_CONFLICT and changes nothing.
func (s *Service) Apply(ctx context.Context, id uuid.UUID, in EventInput) (Dossier, error) {
	decide, err := s.Prepare(ctx, id, in)
	if err != nil {
		return Dossier{}, err
	}
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return Dossier{}, err
	}
	defer tx.Rollback()
	d, err := ApplyIn(ctx, tx, id, decide)
	if err != nil {
		return Dossier{}, err
	}
	return d, tx.Commit()
}

// Prepare checks an event for the caller and reads what deciding it needs, and returns
// the decision, for Apply or for a device's batch to run in its own transaction.
func (s *Service) Prepare(ctx context.Context, id uuid.UUID, in EventInput) (Decision, error) {
	p := auth.PrincipalFrom(ctx)
	now := s.now()
	// Everything the decision reads besides the dossier is read before its transaction:
	// a transaction that waits on the pool while holding a row lock can starve it. The
	// dossier comes first so that a stranger learns nothing, not even which events exist.
	current, currentTasks, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, current, currentTasks) {
		return nil, domain.Errorf(domain.CodeNotFound, "no such dossier")
	}
	if roles, known := rolesFor(in.Event); !p.Is(roles...) {
		if !known {
			return nil, domain.Invalid("event", "is not a dossier event")
		}
		return nil, domain.Errorf(domain.CodeForbidden, "your role (%s) may not report %s", p.Role, in.Event)
	}
	if p.Role == auth.RoleCourier && p.DeviceID == uuid.Nil {
		// What a courier records at a door is bound to the handheld that recorded it.
		return nil, domain.Errorf(auth.CodeDeviceNotBound, "record field events from your registered handheld: log in with its device_id")
	}
	if err := in.check(*civil(now)); err != nil {
		return nil, err
	}
	if oneOf(in.Event, EventHandToAgency, EventCollectResult, EventReturnToAgency) {
		// A batch carries it: the batch's receipt hands it over, not the desk, or the
		// manifest would later count it missing though the other side has it.
		open, err := s.store.OpenManifests(ctx, []uuid.UUID{id})
		if err != nil {
			return nil, err
		}
		if m, ok := open[id]; ok {
			return nil, domain.Errorf(CodeOnManifest, "this dossier is on manifest %s, not yet received: receive it with that batch", m)
		}
	}
	if in.DeviceTime != nil {
		device := in.DeviceTime.UTC().Truncate(time.Microsecond)
		in.DeviceTime = &device
	}
	cal, err := s.calendar(ctx)
	if err != nil {
		return nil, err
	}
	if !in.Date.IsZero() {
		// Whoever books: an applicant, a clerk or a dispatcher.
		if err := CheckBookable(cal, "date", *civil(in.Date), *civil(now), s.cfg.HorizonDays); err != nil {
			return nil, err
		}
	}
	r := reads{cal: cal}
	// Every event reads the procedure: its rules, and the stop as devices see it.
	if r.proc, err = s.catalog.Procedures.Get(system(ctx), current.ProcedureID.String()); err != nil {
		return nil, err
	}
	if in.CourierID != uuid.Nil {
		c, err := s.catalog.Couriers.Get(system(ctx), in.CourierID.String())
		if domain.ErrorCode(err) == domain.CodeNotFound || (err == nil && (c.PostOfficeID != current.PostOfficeID || !c.Active)) {
			return nil, domain.Invalid("courier_id", "names no active courier of this dossier's post office")
		}
		if err != nil {
			return nil, err
		}
	}
	if current.Return {
		if r.agency, err = s.agencyOf(ctx, current); err != nil {
			return nil, err
		}
	}
	if in.Address != nil {
		if r.office, err = s.catalog.PostOffices.Get(system(ctx), current.PostOfficeID.String()); err != nil {
			return nil, err
		}
		if in.Address, err = s.resolveAddress(ctx, *in.Address); err != nil {
			return nil, err
		}
	}
	if in.Event == EventDeliver && current.State == StateOutForDelivery {
		if !mayDeliver(p, currentTasks) {
			return nil, domain.Errorf(domain.CodeForbidden, "this delivery stop is not yours")
		}
		if err := s.guardDoor(ctx, current, in, s.doorTime(current, now, in.DeviceTime)); err != nil {
			return nil, err
		}
	}
	return func(d Dossier, tasks []Task) (Change, error) {
		if !visible(p, d, tasks) {
			return Change{}, domain.Errorf(domain.CodeNotFound, "no such dossier")
		}
		if !in.Fact && in.Version != d.Version {
			return Change{}, domain.Errorf(domain.CodeVersionConflict, "this dossier changed since you read it (version %d, you sent %d); reload it", d.Version, in.Version)
		}
		return s.decide(p, d, tasks, in, now, r)
	}, nil
}

// reads are what deciding an event needs besides the dossier, read before its transaction.
type reads struct {
	cal    catalog.Calendar
	proc   catalog.Procedure
	agency *catalog.Agency // where a collection stop is, for couriers' devices
	office catalog.PostOffice
}

// agencyOf is the agency a dossier goes to.
func (s *Service) agencyOf(ctx context.Context, d Dossier) (*catalog.Agency, error) {
	a, err := s.catalog.Agencies.Get(system(ctx), d.AgencyID.String())
	return &a, err
}

// decide computes an event's change; it touches no storage.
func (s *Service) decide(p auth.Principal, d Dossier, tasks []Task, in EventInput, now time.Time, r reads) (Change, error) {
	from := d.State
	tasksBefore := slices.Clone(tasks)
	// A hand-in at the counter is checked against the bag first: handing in twice, or
	// what another courier carries, is "not in your bag" whatever the state says.
	if in.Event == EventArrivePostOffice {
		if _, err := custody(p, d, in, tasks); err != nil {
			return Change{}, err
		}
	}
	to, err := Next(d.State, in.Event)
	if err != nil {
		return Change{}, err
	}
	if in.Event == EventDispatchDelivery && d.Holder.Kind == PartyCourier && d.Holder.ID != in.CourierID {
		// Sending another courier is a decision, but the one who kept the result after a
		// failed attempt must hand it in first, or the new one could never take it.
		return Change{}, domain.Errorf(CodeNotHeld, "another courier still carries this result: they hand it in first")
	}
	if err := checkFieldReport(r.proc, in); err != nil {
		return Change{}, err
	}
	moves, err := custody(p, d, in, tasks)
	if err != nil {
		return Change{}, err
	}
	// The last attempt fails into a hold (see below); from the hold the applicant may ask
	// for one more, and no more after that.
	if in.Event == EventScheduleRedelivery && d.FailedAttempts > s.cfg.MaxAttempts {
		return Change{}, domain.Errorf(CodeAttemptsExhausted, "%d delivery attempts have failed; the result waits at the post office", d.FailedAttempts)
	}
	if oneOf(in.Event, EventDeliver, EventCollectAtCounter, EventCollectAtAgency) && in.Recipient == PartyProxy && !r.proc.ProxyAllowed {
		return Change{}, domain.Invalid("recipient", "this procedure's result goes to the applicant in person")
	}
	// The last word on how to reach the applicant stands for what follows: theirs, or the
	// dispatcher's who arranged another delivery with them.
	switch {
	case in.Event == EventScheduleRedelivery:
		d.DeliveryChoice = ChoiceHome
	case in.Event == EventHold && p.Role == auth.RoleCitizen:
		d.DeliveryChoice = ChoicePostOffice
	}
	if p.Role == auth.RoleCitizen && in.Slot != nil {
		if err := CheckBooking(r.cal, in.Date, *in.Slot, now); err != nil {
			return Change{}, err
		}
	}
	if in.Address != nil {
		a := in.Address
		d.Applicant.Address, d.Applicant.AdminUnitCode, d.Applicant.Location = a.Text, a.AdminUnitCode, a.Location
		d.OutsideServiceArea = !r.office.Serves(a.Location)
	}
	var claim *SlotClaim
	var changed []Task
	switch in.Event {
	case EventChooseDelivery:
		var err error
		if changed, claim, err = s.chooseDelivery(&d, tasks, in, r.proc, now); err != nil {
			return Change{}, err
		}
	case EventDeliver:
		method, err := s.verifyDoor(d, in, s.doorTime(d, now, in.DeviceTime))
		if err != nil {
			return Change{}, err
		}
		in.Proof.IdentityMethod = method
		d.Handover = Handover{}
	case EventDeliveryFail:
		d.Handover = Handover{} // this trip's code dies with it
	case EventDispatchDelivery:
		h, err := s.drawHandover(d, now)
		if err != nil {
			return Change{}, err
		}
		d.Handover = h
	}
	if move, ok := eventTask[in.Event]; ok {
		t, err := taskOf(tasks, move.kind)
		if err != nil {
			return Change{}, err
		}
		if p.Role == auth.RoleCourier && t.CourierID != p.CourierID {
			return Change{}, domain.Errorf(domain.CodeForbidden, "this %s stop is not yours", t.Kind)
		}
		if err := t.apply(move.event, now); err != nil {
			return Change{}, err
		}
		switch move.event {
		case TaskEventAssign:
			t.CourierID, t.RouteSeq, t.PlannedArrival = in.CourierID, nil, in.PlannedArrival
			if in.RouteSeq > 0 {
				t.RouteSeq = &in.RouteSeq
			}
		case TaskEventSchedule:
			// Moved to another day: whoever had it may not be on shift then.
			t.ScheduledFor, t.CourierID, t.RouteSeq, t.PlannedArrival = civil(in.Date), uuid.Nil, nil, nil
			claim = book(t, in)
		case TaskEventFail:
			// The visit is over: its slot's place is free again.
			t.Attempts, t.FailureReason, t.Slot = t.Attempts+1, in.Reason, nil
		}
		changed = append(changed, *t)
	}
	if to.Final() {
		// Nothing more will happen: no stop of this dossier may stay on anyone's list.
		for i := range tasks {
			if _, err := NextTask(tasks[i].State, TaskEventCancel); err == nil {
				_ = tasks[i].apply(TaskEventCancel, now)
				changed = appendTask(changed, tasks[i])
			}
		}
	}

	d.State, d.Version, d.UpdatedAt = to, d.Version+1, now
	s.advanceClock(&d, in.Event, now, r.cal, r.proc)
	jobs := s.jobsFor(d, in.Event, from)
	if in.Event == EventDeliveryFail && d.FailedAttempts >= s.cfg.MaxAttempts {
		// Out of attempts: the result is held for the applicant to collect, they are told,
		// and the hold's end is scheduled, all with this failure. The courier still has it
		// until arrive_post_office records its return.
		to, d.State = StateHeldAtPostOffice, StateHeldAtPostOffice
		s.advanceClock(&d, EventHold, now, r.cal, r.proc)
		jobs = s.jobsFor(d, EventHold, from)
	}
	toOffice := len(moves) > 0 && moves[len(moves)-1].to.Kind == PartyPostOffice
	if oneOf(in.Event, EventArrivePostOffice, EventCollectResult) && toOffice &&
		d.DeliveryChoice == ChoicePostOffice && oneOf(to, StateResultAtPostOffice, StateRedeliveryScheduled) {
		// The applicant chose the counter: the result is held for them as it arrives.
		to, d.State = StateHeldAtPostOffice, StateHeldAtPostOffice
		s.advanceClock(&d, EventHold, now, r.cal, r.proc)
		jobs = s.jobsFor(d, EventHold, from)
	}
	if to == StateHeldAtPostOffice {
		// Held for the counter: a delivery booked for the applicant gives its place back.
		if t, err := taskOf(tasks, TaskDelivery); err == nil && (t.Slot != nil || t.ScheduledFor != nil) {
			freeSlot(t, now)
			changed = appendTask(changed, *t)
		}
	}
	change := Change{Tasks: changed, SlotClaim: claim}
	for _, m := range moves {
		entry := CustodyEntry{DossierID: d.ID, Seq: d.CustodyCount + 1, Item: itemOf(from), From: d.Holder, To: m.to,
			Event: m.event, ServerTime: now, ActorID: p.AccountID, PrevHash: d.CustodyHead}
		if m.event == in.Event {
			// An implied handover has no place, time or proof of its own.
			entry.Point, entry.AccuracyM, entry.DeviceTime, entry.Proof = in.Point, in.AccuracyM, in.DeviceTime, in.Proof
		}
		entry.Hash = entry.ComputeHash()
		d.Holder, d.CustodyCount, d.CustodyHead = m.to, entry.Seq, entry.Hash
		change.Custody = append(change.Custody, entry)
	}
	note := in.Note
	if in.Reason != "" {
		note = string(in.Reason)
	}
	change.Dossier = d
	change.Jobs = jobs
	change.Feed = feedChanges(d, tasksBefore, tasks, change.Tasks, r.agency, r.proc)
	change.Flags = s.fieldFlags(p, d, in, r.proc, now)
	change.Record = EventRecord{DossierID: d.ID, At: now, Event: in.Event, From: from, To: to, ActorRole: string(p.Role), Note: note}
	change.Audit = audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
		Action: "dossier." + string(in.Event), ResourceKind: "dossier", ResourceID: d.ID.String(),
		Detail: map[string]any{"from": from, "to": to, "version": d.Version}}
	return change, nil
}

// appendTask adds t to the changed tasks, replacing an earlier copy of it (a dossier
// has one task of each kind).
func appendTask(changed []Task, t Task) []Task {
	for i := range changed {
		if changed[i].Kind == t.Kind {
			changed[i] = t
			return changed
		}
	}
	return append(changed, t)
}

// itemOf says what is being carried: the dossier before the agency has it, after that
// the result (or the refused dossier, which travels the same way).
func itemOf(s State) string {
	if slices.Contains([]State{StateRequested, StateScheduled, StateAssigned, StatePickedUp, StateAtPostOffice}, s) {
		return "dossier"
	}
	return "result"
}

// advanceClock sets the dates an event starts or ends.
func (s *Service) advanceClock(d *Dossier, e Event, now time.Time, cal catalog.Calendar, proc catalog.Procedure) {
	local := now.In(domain.Vietnam)
	switch e {
	case EventHandToAgency:
		d.ReceivedAt, d.AppointmentDate = &now, ptr(cal.AddWorkingDays(local, proc.ProcessingDays))
	case EventResultReady, EventAgencyReject:
		d.ResultReadyAt, d.DeliveryDue = &now, ptr(cal.AddWorkingDays(local, s.cfg.DeliveryLegDays))
		d.Rejected = e == EventAgencyReject
	case EventDeliveryFail:
		d.FailedAttempts++
	case EventHold:
		d.HeldUntil = ptr(civil(now).AddDate(0, 0, s.cfg.HoldDays))
	case EventDeliver, EventCollectAtCounter, EventCollectAtAgency:
		d.DeliveredAt = &now
	}
}
