package dossier

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
)

// Codes of the applicant's choices.
const (
	// CodeSlotFull: every place in the slot is taken.
	CodeSlotFull domain.Code = "SLOT_FULL"
	// CodeCourierOnTheWay: the courier has set out for the stop; it can no longer be
	// moved or cancelled from the applicant's side (the post office can still call).
	CodeCourierOnTheWay domain.Code = "COURIER_ON_THE_WAY"
)

// Times are the slot's bounds as people read them: 08:00 and 10:00.
func (s Slot) Times() (start, end string) {
	return fmt.Sprintf("%02d:%02d", s.StartMin/60, s.StartMin%60), fmt.Sprintf("%02d:%02d", s.EndMin/60, s.EndMin%60)
}

// String is the slot as people read it: 08:00–10:00.
func (s Slot) String() string {
	start, end := s.Times()
	return start + "–" + end
}

// freeSlot takes a stop off its day and slot, giving its place back.
func freeSlot(t *Task, now time.Time) {
	t.ScheduledFor, t.Slot, t.Version, t.UpdatedAt = nil, nil, t.Version+1, now
}

// SlotTemplate is a slot a post office offers on each of its working days, and how many
// stops it can take.
type SlotTemplate struct {
	Slot
	Capacity int
}

// SlotOffer is one slot on one day, with the places already taken.
type SlotOffer struct {
	Date  time.Time // civil date
	Slot  Slot
	Taken int
	SlotTemplate
}

// Full reports whether no place is left.
func (o SlotOffer) Full() bool { return o.Taken >= o.Capacity }

// SlotClaim is a stop taking a place in a slot: the store counts the slot's live stops
// under a lock, in the stop's transaction, and refuses with SLOT_FULL.
type SlotClaim struct {
	PostOfficeID uuid.UUID
	TaskID       uuid.UUID
	Date         time.Time
	Slot         Slot
}

// SlotStore keeps the slots post offices offer and counts their use.
type SlotStore interface {
	Slots(ctx context.Context, officeID uuid.UUID) ([]SlotTemplate, error)
	SetSlots(ctx context.Context, officeID uuid.UUID, slots []SlotTemplate, entry audit.Entry) error
	// SlotUse counts live stops by day and slot start, over [from, to].
	SlotUse(ctx context.Context, officeID uuid.UUID, from, to time.Time) (map[time.Time]map[int]int, error)
}

// Offer horizon: slots are offered from an hour ahead, for the coming week.
const (
	slotLead = time.Hour
	slotDays = 7
)

// CheckSlots validates a post office's slot list: whole windows of at least half an hour,
// none overlapping, each with a capacity.
func CheckSlots(slots []SlotTemplate) error {
	var p domain.Problems
	p.Check(len(slots) <= 48, "slots", "at most 48 slots a day")
	sorted := slices.Clone(slots)
	slices.SortFunc(sorted, func(a, b SlotTemplate) int { return a.StartMin - b.StartMin })
	for i, s := range sorted {
		field := fmt.Sprintf("slots[%d]", i)
		p.Check(s.StartMin >= 0 && s.EndMin <= 24*60 && s.EndMin-s.StartMin >= 30, field, "must lie within the day and last at least 30 minutes")
		p.Check(s.Capacity > 0 && s.Capacity <= 10_000, field+".capacity", "must be between 1 and 10000")
		p.Check(i == 0 || sorted[i-1].EndMin <= s.StartMin, field, "overlaps the slot before it")
	}
	return p.Err()
}

// Slots lists what a post office offers; dispatchers of that office and admins only.
func (s *Service) Slots(ctx context.Context, officeID uuid.UUID) ([]SlotTemplate, error) {
	if !auth.PrincipalFrom(ctx).PlansFor(officeID) {
		return nil, domain.Errorf(domain.CodeNotFound, "no such post office")
	}
	return s.store.Slots(ctx, officeID)
}

// SetSlots replaces what a post office offers. Stops already booked keep their slot.
func (s *Service) SetSlots(ctx context.Context, officeID uuid.UUID, slots []SlotTemplate) error {
	p := auth.PrincipalFrom(ctx)
	if !p.PlansFor(officeID) {
		return domain.Errorf(domain.CodeNotFound, "no such post office")
	}
	if err := CheckSlots(slots); err != nil {
		return err
	}
	entry := audit.Entry{At: s.now(), ActorID: p.AccountID, ActorRole: string(p.Role), Source: p.Source, Action: "post_office.slots",
		ResourceKind: "post_office", ResourceID: officeID.String(), Detail: map[string]any{"slots": len(slots)}}
	return s.store.SetSlots(ctx, officeID, slots, entry)
}

// OfferSlots lists the slots open to a dossier's applicant for the coming week, on the
// calendar's working days, from an hour ahead, each with its places taken.
func (s *Service) OfferSlots(ctx context.Context, id uuid.UUID) ([]SlotOffer, error) {
	d, _, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	templates, err := s.store.Slots(ctx, d.PostOfficeID)
	if err != nil || len(templates) == 0 {
		return nil, err
	}
	cal, err := s.calendar(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	from := *civil(now)
	to := from.AddDate(0, 0, slotDays)
	use, err := s.store.SlotUse(ctx, d.PostOfficeID, from, to)
	if err != nil {
		return nil, err
	}
	var offers []SlotOffer
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		if !cal.IsWorkingDay(day) {
			continue
		}
		for _, t := range templates {
			if slotStart(day, t.Slot).Before(now.Add(slotLead)) {
				continue
			}
			offers = append(offers, SlotOffer{Date: day, Slot: t.Slot, Taken: use[day][t.StartMin], SlotTemplate: t})
		}
	}
	return offers, nil
}

// checkBooking refuses an applicant's booking outside what OfferSlots offers: a working
// day of the coming week, a slot starting at least slotLead from now. Whether the slot
// exists, and has room, the store checks with the claim.
func checkBooking(cal catalog.Calendar, date time.Time, slot Slot, now time.Time) error {
	day := *civil(date)
	today := *civil(now)
	switch {
	case day.After(today.AddDate(0, 0, slotDays)):
		return domain.Invalid("date", fmt.Sprintf("bookings open %d days ahead", slotDays))
	case !cal.IsWorkingDay(day):
		return domain.Invalid("date", "the post office does not visit on that day")
	case slotStart(day, slot).Before(now.Add(slotLead)):
		return domain.Invalid("slot", "starts too soon; choose a slot at least an hour ahead")
	}
	return nil
}

// slotStart is when a slot begins on a civil day, Vietnam time.
func slotStart(day time.Time, s Slot) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, s.StartMin, 0, 0, domain.Vietnam)
}

// Address is where the applicant will be: the address as written and its pin.
type Address struct {
	Text          string
	AdminUnitCode string
	Location      orb.Point
}

func (a *Address) check(p *domain.Problems) {
	a.Text = strings.TrimSpace(a.Text)
	p.Check(a.Text != "" && utf8.RuneCountInString(a.Text) <= 300, "address.text", "is required, at most 300 characters")
	p.Check(a.AdminUnitCode != "", "address.admin_unit_code", "is required")
	catalog.CheckPoint(p, "address.location", a.Location)
}

// Booking is the applicant's choice of a stop: a day and a slot the post office offers,
// and, to correct it, the address and its pin.
type Booking struct {
	Date    time.Time
	Slot    Slot
	Address *Address
}

func (b *Booking) check(p *domain.Problems) {
	p.Check(!b.Date.IsZero(), "date", "is required, as YYYY-MM-DD")
	p.Check(b.Slot.EndMin > b.Slot.StartMin, "slot", "is required")
	if b.Address != nil {
		b.Address.check(p)
	}
}

// BookPickup is the applicant asking for, or moving, the pickup of their dossier at
// home, until the courier sets out.
func (s *Service) BookPickup(ctx context.Context, id uuid.UUID, b Booking) (Dossier, error) {
	var p domain.Problems
	b.check(&p)
	if err := p.Err(); err != nil {
		return Dossier{}, err
	}
	return s.choose(ctx, id, func(d Dossier, tasks []Task) (EventInput, error) {
		if t, err := taskOf(tasks, TaskPickup); err == nil && t.State == TaskInProgress {
			return EventInput{}, domain.Errorf(CodeCourierOnTheWay, "the courier is on the way to you; call the post office to change the pickup")
		}
		return EventInput{Event: EventSchedulePickup, Date: b.Date, Slot: &b.Slot, Address: b.Address}, nil
	})
}

// CancelPickup withdraws the dossier before the courier sets out for it.
func (s *Service) CancelPickup(ctx context.Context, id uuid.UUID) (Dossier, error) {
	return s.choose(ctx, id, func(d Dossier, tasks []Task) (EventInput, error) {
		if t, err := taskOf(tasks, TaskPickup); err == nil && t.State == TaskInProgress {
			return EventInput{}, domain.Errorf(CodeCourierOnTheWay, "the courier is on the way to you; call the post office to cancel")
		}
		return EventInput{Event: EventCancel, Note: "cancelled by the applicant"}, nil
	})
}

// DeliveryRequest is how the applicant wants their result: at home (with a Booking), or
// from the post office's counter.
type DeliveryRequest struct {
	Choice  DeliveryChoice
	Booking Booking
}

// ChooseDelivery records how the applicant wants the result, until the courier sets out
// with it. Home books a slot (a failed or held delivery gets its new attempt); the
// counter holds the result at the post office once it arrives there.
func (s *Service) ChooseDelivery(ctx context.Context, id uuid.UUID, r DeliveryRequest) (Dossier, error) {
	var p domain.Problems
	p.Check(r.Choice == ChoiceHome || r.Choice == ChoicePostOffice, "choice", "must be home or post_office")
	if r.Choice == ChoiceHome {
		r.Booking.check(&p)
	}
	if err := p.Err(); err != nil {
		return Dossier{}, err
	}
	return s.choose(ctx, id, func(d Dossier, _ []Task) (EventInput, error) {
		in := EventInput{Event: EventChooseDelivery, Choice: r.Choice}
		if r.Choice == ChoiceHome {
			in.Date, in.Slot, in.Address = r.Booking.Date, &r.Booking.Slot, r.Booking.Address
		}
		atOffice := d.Holder.Kind == PartyPostOffice && oneOf(d.State, StateResultAtPostOffice, StateRedeliveryScheduled)
		switch {
		case d.State == StateOutForDelivery:
			return EventInput{}, domain.Errorf(CodeCourierOnTheWay, "the courier is already on the way with your result")
		case r.Choice == ChoiceHome && oneOf(d.State, StateDeliveryFailed, StateHeldAtPostOffice):
			in.Event = EventScheduleRedelivery
		case r.Choice == ChoicePostOffice && d.State == StateHeldAtPostOffice:
			return EventInput{}, nil // it already waits at the counter
		case r.Choice == ChoicePostOffice && (d.State == StateDeliveryFailed || atOffice):
			in.Event = EventHold
		}
		return in, nil
	})
}

// choose applies an applicant's choice as an event on the dossier as it stands.
func (s *Service) choose(ctx context.Context, id uuid.UUID, event func(d Dossier, tasks []Task) (EventInput, error)) (Dossier, error) {
	d, tasks, err := s.Get(ctx, id)
	if err != nil {
		return Dossier{}, err
	}
	in, err := event(d, tasks)
	if err != nil || in.Event == "" {
		return d, err
	}
	in.Version = d.Version
	return s.Apply(ctx, id, in)
}

// book puts a stop in a slot: the day, the window, the claim on the slot's places.
func book(t *Task, in EventInput) *SlotClaim {
	t.Slot = in.Slot
	if in.Slot == nil {
		return nil
	}
	return &SlotClaim{PostOfficeID: t.PostOfficeID, TaskID: t.ID, Date: *t.ScheduledFor, Slot: *in.Slot}
}

// chooseDelivery is the change an applicant's choice makes to a dossier that has not yet
// set out for them: the post now brings the result back, and the delivery stop is booked
// (home) or left unplanned (the counter).
func (s *Service) chooseDelivery(d *Dossier, tasks []Task, in EventInput, proc catalog.Procedure, now time.Time) ([]Task, *SlotClaim, error) {
	var changed []Task
	if !d.Return {
		if !proc.ReturnByPost {
			return nil, nil, domain.Invalid("choice", "this procedure's result is collected at the agency's desk only")
		}
		d.Return = true
		for _, k := range []TaskKind{TaskCollection, TaskDelivery} {
			changed = append(changed, Task{ID: s.newID(), DossierID: d.ID, PostOfficeID: d.PostOfficeID, Kind: k, State: TaskOpen, Version: 1, UpdatedAt: now})
		}
		tasks = append(slices.Clone(tasks), changed...)
	}
	d.DeliveryChoice = in.Choice
	t, err := taskOf(tasks, TaskDelivery)
	if err != nil {
		return nil, nil, err
	}
	var claim *SlotClaim
	if in.Choice == ChoiceHome {
		if err := t.apply(TaskEventSchedule, now); err != nil {
			return nil, nil, err
		}
		t.ScheduledFor, t.CourierID, t.RouteSeq, t.PlannedArrival = civil(in.Date), uuid.Nil, nil, nil
		claim = book(t, in)
	} else if t.ScheduledFor != nil || t.Slot != nil {
		// The counter: a booked slot is given back.
		freeSlot(t, now)
	}
	return appendTask(changed, *t), claim, nil
}

// Rating is the applicant's word on the service, once the result reached them.
type Rating struct {
	DossierID uuid.UUID
	Stars     int
	Comment   string
	RatedAt   time.Time
}

// CodeNotRatable: a dossier is rated once its result has reached the applicant.
const CodeNotRatable domain.Code = "NOT_RATABLE"

// Rate records (or replaces) the applicant's rating of a delivered dossier.
func (s *Service) Rate(ctx context.Context, id uuid.UUID, stars int, comment string) (Rating, error) {
	var p domain.Problems
	comment = strings.TrimSpace(comment)
	p.Check(stars >= 1 && stars <= 5, "stars", "must be 1 to 5")
	p.Check(utf8.RuneCountInString(comment) <= 1000, "comment", "at most 1000 characters")
	if err := p.Err(); err != nil {
		return Rating{}, err
	}
	principal := auth.PrincipalFrom(ctx)
	d, _, err := s.Get(ctx, id)
	if err != nil {
		return Rating{}, err
	}
	if principal.Role != auth.RoleCitizen || d.State != StateDelivered {
		return Rating{}, domain.Errorf(CodeNotRatable, "only the applicant rates a dossier, once they have the result")
	}
	r := Rating{DossierID: id, Stars: stars, Comment: comment, RatedAt: s.now()}
	entry := audit.Entry{At: r.RatedAt, ActorRole: string(principal.Role), Source: principal.Source, Action: "dossier.rate",
		ResourceKind: "dossier", ResourceID: id.String(), Detail: map[string]any{"stars": stars}}
	return r, s.store.Rate(ctx, r, entry)
}

// resolveAddress is a corrected address with its unit as it is today (an old code names
// the unit it became); an unknown code is refused.
func (s *Service) resolveAddress(ctx context.Context, a Address) (*Address, error) {
	unit, err := s.catalog.ResolveAdminUnit(system(ctx), a.AdminUnitCode)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil, domain.Invalid("address.admin_unit_code", "names no administrative unit")
	}
	if err != nil {
		return nil, err
	}
	a.AdminUnitCode = unit.Code
	return &a, nil
}
