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
	// RouteTrip and the reload's times: the stop's trip in that route and, on a trip's
	// first stop after the first, the return to the office before it (see Task).
	RouteTrip                      int
	ReloadArrival, ReloadDeparture *time.Time
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

// check validates the details the event needs (its row's Needs and Note) and refuses
// those it does not take.
func (in EventInput) check(today time.Time) error {
	var p domain.Problems
	p.Check(in.Version > 0 || in.Fact, "version", "send the version of the dossier you acted on")
	rule := eventRules[in.Event]
	for _, f := range rule.Needs {
		ruleOf(f).need(&p, in, today)
	}
	if rule.Note != "" {
		p.Check(in.Note != "", "note", rule.Note)
	}
	for _, f := range fieldRules {
		if f.given != nil && f.given(in) && !rule.takes(f.field) {
			p.Add(string(f.field), "is taken only by "+takenBy(f.field))
		}
	}
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
	// Everything the decision reads besides the dossier is read before its transaction:
	// a transaction that waits on the pool while holding a row lock can starve it. The
	// dossier comes first so that a stranger learns nothing, not even which events exist.
	current, currentTasks, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.prepare(ctx, s.lookups(ctx), Snapshot{Dossier: current, Tasks: currentTasks}, in)
}

// Preparing is one of the events PrepareMany prepares.
type Preparing struct {
	DossierID uuid.UUID
	In        EventInput
}

// PrepareMany prepares events as Prepare does, reading their dossiers in one round trip
// and what they share (the calendar, procedures, agencies, offices) once: a device's
// push carries hundreds. The i-th decision, or refusal, answers events[i]; an error that
// is no refusal (the database is away) is returned alone.
func (s *Service) PrepareMany(ctx context.Context, events []Preparing) ([]Decision, []error, error) {
	ids := make([]uuid.UUID, len(events))
	for i, e := range events {
		ids[i] = e.DossierID
	}
	current, err := s.store.GetMany(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	l := s.lookups(ctx)
	decisions, refusals := make([]Decision, len(events)), make([]error, len(events))
	for i, e := range events {
		snapshot, found := current[e.DossierID]
		if !found {
			refusals[i] = domain.Errorf(domain.CodeNotFound, "no such dossier")
			continue
		}
		decisions[i], refusals[i] = s.prepare(ctx, l, snapshot, e.In)
		if _, refused := domain.AsError(refusals[i]); refusals[i] != nil && !refused {
			return nil, nil, refusals[i]
		}
	}
	return decisions, refusals, nil
}

// prepare is Prepare on a dossier already read.
func (s *Service) prepare(ctx context.Context, l *lookups, current Snapshot, in EventInput) (Decision, error) {
	p := auth.PrincipalFrom(ctx)
	now := s.now()
	if !visible(p, current.Dossier, current.Tasks) {
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
	if in.DeviceTime != nil {
		device := in.DeviceTime.UTC().Truncate(time.Microsecond)
		in.DeviceTime = &device
	}
	cal, err := l.calendar()
	if err != nil {
		return nil, err
	}
	if !in.Date.IsZero() {
		// Whoever books: an applicant, a clerk or a dispatcher.
		if err := CheckBookable(cal, "date", *civil(in.Date), *civil(now), s.cfg.HorizonDays); err != nil {
			return nil, err
		}
	}
	d := current.Dossier
	r := reads{cal: cal}
	// Every event reads the procedure: its rules, and the stop as devices see it.
	if r.proc, err = l.procedure(d.ProcedureID); err != nil {
		return nil, err
	}
	if in.CourierID != uuid.Nil {
		c, err := s.catalog.Couriers.Get(system(ctx), in.CourierID.String())
		if domain.ErrorCode(err) == domain.CodeNotFound || (err == nil && (c.PostOfficeID != d.PostOfficeID || !c.Active)) {
			return nil, domain.Invalid("courier_id", "names no active courier of this dossier's post office")
		}
		if err != nil {
			return nil, err
		}
	}
	if d.Return {
		if r.agency, err = l.agency(d.AgencyID); err != nil {
			return nil, err
		}
	}
	if in.Address != nil {
		if r.office, err = l.office(d.PostOfficeID); err != nil {
			return nil, err
		}
		if in.Address, err = s.resolveAddress(ctx, *in.Address); err != nil {
			return nil, err
		}
	}
	if guard := eventRules[in.Event].guard; guard != nil {
		if err := guard(s, ctx, p, d, current.Tasks, in, now); err != nil {
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

// lookups reads the catalog for decisions made together, each thing once however many
// of them ask.
type lookups struct {
	s          *Service
	ctx        context.Context
	cal        *catalog.Calendar
	procedures map[uuid.UUID]catalog.Procedure
	agencies   map[uuid.UUID]*catalog.Agency
	offices    map[uuid.UUID]catalog.PostOffice
}

func (s *Service) lookups(ctx context.Context) *lookups {
	return &lookups{s: s, ctx: system(ctx), procedures: map[uuid.UUID]catalog.Procedure{}, agencies: map[uuid.UUID]*catalog.Agency{},
		offices: map[uuid.UUID]catalog.PostOffice{}}
}

// remembered is known[key], read the first time it is asked for.
func remembered[V any](known map[uuid.UUID]V, key uuid.UUID, read func() (V, error)) (V, error) {
	if v, ok := known[key]; ok {
		return v, nil
	}
	v, err := read()
	if err == nil {
		known[key] = v
	}
	return v, err
}

func (l *lookups) calendar() (catalog.Calendar, error) {
	if l.cal == nil {
		cal, err := l.s.calendar(l.ctx)
		if err != nil {
			return catalog.Calendar{}, err
		}
		l.cal = &cal
	}
	return *l.cal, nil
}

func (l *lookups) procedure(id uuid.UUID) (catalog.Procedure, error) {
	return remembered(l.procedures, id, func() (catalog.Procedure, error) { return l.s.catalog.Procedures.Get(l.ctx, id.String()) })
}

func (l *lookups) agency(id uuid.UUID) (*catalog.Agency, error) {
	return remembered(l.agencies, id, func() (*catalog.Agency, error) {
		a, err := l.s.catalog.Agencies.Get(l.ctx, id.String())
		return &a, err
	})
}

func (l *lookups) office(id uuid.UUID) (catalog.PostOffice, error) {
	return remembered(l.offices, id, func() (catalog.PostOffice, error) { return l.s.catalog.PostOffices.Get(l.ctx, id.String()) })
}

// reads are what deciding an event needs besides the dossier, read before its transaction.
type reads struct {
	cal    catalog.Calendar
	proc   catalog.Procedure
	agency *catalog.Agency // where a collection stop is, for couriers' devices
	office catalog.PostOffice
}

// decide computes an event's change; it touches no storage. It reads the event's row:
// the transition, the handover and the row's own refusal, then the change.
func (s *Service) decide(p auth.Principal, d Dossier, tasks []Task, in EventInput, now time.Time, r reads) (Change, error) {
	rule := eventRules[in.Event]
	if rule.BagFirst {
		if _, err := custody(p, d, in, tasks); err != nil {
			return Change{}, err
		}
	}
	to, err := Next(d.State, in.Event)
	if err != nil {
		return Change{}, err
	}
	if err := checkFieldReport(r.proc, in); err != nil {
		return Change{}, err
	}
	moves, err := custody(p, d, in, tasks)
	if err != nil {
		return Change{}, err
	}
	c := &deciding{s: s, p: p, d: d, tasks: tasks, in: in, now: now, r: r, to: to, moves: moves}
	if rule.refuse != nil {
		if err := rule.refuse(c); err != nil {
			return Change{}, err
		}
	}
	if rule.takes(FieldRecipient) && in.Recipient == PartyProxy && !r.proc.ProxyAllowed {
		return Change{}, domain.Invalid("recipient", "this procedure's result goes to the applicant in person")
	}
	if p.Role == auth.RoleCitizen && in.Slot != nil {
		if err := CheckBooking(r.cal, in.Date, *in.Slot, now); err != nil {
			return Change{}, err
		}
	}
	return c.change(rule)
}

// change is the decided event's change: the row's own step, the stop, the state, the
// clocks and notices, a hold instead, the custody entries, the history and the audit.
func (c *deciding) change(rule EventRule) (Change, error) {
	s, d, in, now := c.s, &c.d, &c.in, c.now
	from, tasksBefore := d.State, slices.Clone(c.tasks)
	if a := in.Address; a != nil {
		d.Applicant.Address, d.Applicant.AdminUnitCode, d.Applicant.Location = a.Text, a.AdminUnitCode, a.Location
		d.OutsideServiceArea = !c.r.office.Serves(a.Location)
	}
	if rule.apply != nil {
		if err := rule.apply(c); err != nil {
			return Change{}, err
		}
	}
	if rule.Task.Kind != "" {
		if err := c.moveTask(rule.Task); err != nil {
			return Change{}, err
		}
	}
	if c.to.Final() {
		// Nothing more will happen: no stop of this dossier may stay on anyone's list.
		for i := range c.tasks {
			if _, err := NextTask(c.tasks[i].State, TaskEventCancel); err == nil {
				_ = c.tasks[i].apply(TaskEventCancel, now)
				c.changed = appendTask(c.changed, c.tasks[i])
			}
		}
	}

	d.State, d.Version, d.UpdatedAt = c.to, d.Version+1, now
	s.advanceClock(d, in.Event, now, c.r.cal, c.r.proc)
	jobs := s.jobsFor(*d, in.Event, from)
	if rule.holdIf != nil && rule.holdIf(c) {
		// Held for the applicant at the counter, as a hold would: they are told, and the
		// hold's end is scheduled, all with this event.
		c.to, d.State = StateHeldAtPostOffice, StateHeldAtPostOffice
		s.advanceClock(d, EventHold, now, c.r.cal, c.r.proc)
		jobs = s.jobsFor(*d, EventHold, from)
	}
	if c.to == StateHeldAtPostOffice {
		// Held for the counter: a delivery booked for the applicant gives its place back.
		if t, err := taskOf(c.tasks, TaskDelivery); err == nil && (t.Slot != nil || t.ScheduledFor != nil) {
			freeSlot(t, now)
			c.changed = appendTask(c.changed, *t)
		}
	}
	change := Change{Tasks: c.changed, SlotClaim: c.claim}
	for _, m := range c.moves {
		entry := CustodyEntry{DossierID: d.ID, Seq: d.CustodyCount + 1, Item: itemOf(from), From: d.Holder, To: m.to,
			Event: m.event, ServerTime: now, ActorID: c.p.AccountID, PrevHash: d.CustodyHead}
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
	p := c.p
	change.Dossier = *d
	change.Jobs = jobs
	change.Feed = feedChanges(*d, tasksBefore, c.tasks, change.Tasks, c.r.agency, c.r.proc)
	change.Flags = s.fieldFlags(p, *d, *in, c.r.proc, now)
	change.Record = EventRecord{DossierID: d.ID, At: now, Event: in.Event, From: from, To: c.to, ActorRole: string(p.Role), Note: note}
	change.Audit = audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
		Action: "dossier." + string(in.Event), ResourceKind: "dossier", ResourceID: d.ID.String(),
		Detail: map[string]any{"from": from, "to": c.to, "version": d.Version}}
	return change, nil
}

// moveTask moves the stop the event moves, by its task event, and what that event sets.
func (c *deciding) moveTask(move TaskMove) error {
	t, err := taskOf(c.tasks, move.Kind)
	if err != nil {
		return err
	}
	if c.p.Role == auth.RoleCourier && t.CourierID != c.p.CourierID {
		return domain.Errorf(domain.CodeForbidden, "this %s stop is not yours", t.Kind)
	}
	if err := t.apply(move.Event, c.now); err != nil {
		return err
	}
	in := c.in
	switch move.Event {
	case TaskEventAssign:
		t.CourierID, t.RouteSeq, t.PlannedArrival = in.CourierID, nil, in.PlannedArrival
		t.RouteTrip, t.ReloadArrival, t.ReloadDeparture = nil, in.ReloadArrival, in.ReloadDeparture
		if in.RouteSeq > 0 {
			t.RouteSeq = &in.RouteSeq
		}
		if in.RouteTrip > 0 {
			t.RouteTrip = &in.RouteTrip
		}
	case TaskEventSchedule:
		// Moved to another day: whoever had it may not be on shift then.
		t.ScheduledFor, t.CourierID = civil(in.Date), uuid.Nil
		t.unroute()
		c.claim = book(t, in)
	case TaskEventFail:
		// The visit is over: its slot's place is free again.
		t.Attempts, t.FailureReason, t.Slot = t.Attempts+1, in.Reason, nil
	}
	c.changed = append(c.changed, *t)
	return nil
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
