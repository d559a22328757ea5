package dossier

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"

	"courierd/domain"
	"courierd/domain/catalog"
)

// CodeSlotFull: every place in the slot is taken.
const CodeSlotFull domain.Code = "SLOT_FULL"

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

// SlotClaim is a stop taking a place in a slot: the store counts the slot's live stops
// under a lock, in the stop's transaction, and refuses with SLOT_FULL.
type SlotClaim struct {
	PostOfficeID uuid.UUID
	TaskID       uuid.UUID
	Date         time.Time
	Slot         Slot
}

// The booking window: a slot is booked from an hour ahead, BookingDays ahead at most.
// The applicant is offered (applicant.OfferSlots) exactly what CheckBooking accepts.
const (
	slotLead    = time.Hour
	BookingDays = 7
)

// CheckBooking refuses an applicant's booking outside the booking window: a working day
// of the coming week, a slot starting at least slotLead from now. Whether the slot exists,
// and has room, the store checks with the claim.
func CheckBooking(cal catalog.Calendar, date time.Time, slot Slot, now time.Time) error {
	day := *civil(date)
	today := *civil(now)
	switch {
	case day.After(today.AddDate(0, 0, BookingDays)):
		return domain.Invalid("date", fmt.Sprintf("bookings open %d days ahead", BookingDays))
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
		t.ScheduledFor, t.CourierID = civil(in.Date), uuid.Nil
		t.unroute()
		claim = book(t, in)
	} else if t.ScheduledFor != nil || t.Slot != nil {
		// The counter: a booked slot is given back.
		freeSlot(t, now)
	}
	return appendTask(changed, *t), claim, nil
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
