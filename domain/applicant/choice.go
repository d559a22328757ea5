package applicant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/dossier"
)

// CodeCourierOnTheWay: the courier has set out for the stop; it can no longer be moved or
// cancelled from the applicant's side (the post office can still call).
const CodeCourierOnTheWay domain.Code = "COURIER_ON_THE_WAY"

// SlotTemplate is a slot a post office offers on each of its working days, and how many
// stops it can take.
type SlotTemplate struct {
	dossier.Slot
	Capacity int
}

// SlotOffer is one slot on one day, with the places already taken.
type SlotOffer struct {
	Date  time.Time // civil date
	Slot  dossier.Slot
	Taken int
	SlotTemplate
}

// Full reports whether no place is left.
func (o SlotOffer) Full() bool { return o.Taken >= o.Capacity }

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

// OfferSlots lists the slots open to a dossier's applicant for the coming week: those a
// booking may take (dossier.CheckBooking), each with its places taken.
func (s *Service) OfferSlots(ctx context.Context, id uuid.UUID) ([]SlotOffer, error) {
	d, _, err := s.dossiers.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	templates, err := s.store.Slots(ctx, d.PostOfficeID)
	if err != nil || len(templates) == 0 {
		return nil, err
	}
	now := s.now()
	from := domain.DateOf(now)
	to := from.AddDate(0, 0, dossier.BookingDays)
	cal, err := s.catalog.Calendar(system(ctx), from, to)
	if err != nil {
		return nil, err
	}
	use, err := s.store.SlotUse(ctx, d.PostOfficeID, from, to)
	if err != nil {
		return nil, err
	}
	var offers []SlotOffer
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		for _, t := range templates {
			if dossier.CheckBooking(cal, day, t.Slot, now) != nil {
				continue
			}
			offers = append(offers, SlotOffer{Date: day, Slot: t.Slot, Taken: use[day][t.StartMin], SlotTemplate: t})
		}
	}
	return offers, nil
}

// checkAddress checks where the applicant says they will be.
func checkAddress(p *domain.Problems, a *dossier.Address) {
	a.Text = strings.TrimSpace(a.Text)
	p.Check(a.Text != "" && utf8.RuneCountInString(a.Text) <= 300, "address.text", "is required, at most 300 characters")
	p.Check(a.AdminUnitCode != "", "address.admin_unit_code", "is required")
	catalog.CheckPoint(p, "address.location", a.Location)
}

// Booking is the applicant's choice of a stop: a day and a slot the post office offers,
// and, to correct it, the address and its pin.
type Booking struct {
	Date    time.Time
	Slot    dossier.Slot
	Address *dossier.Address
}

func (b *Booking) check(p *domain.Problems) {
	p.Check(!b.Date.IsZero(), "date", "is required, as YYYY-MM-DD")
	p.Check(b.Slot.EndMin > b.Slot.StartMin, "slot", "is required")
	if b.Address != nil {
		checkAddress(p, b.Address)
	}
}

// onTheWay reports whether the courier has set out for the dossier's stop of kind.
func onTheWay(tasks []dossier.Task, kind dossier.TaskKind) bool {
	return slices.ContainsFunc(tasks, func(t dossier.Task) bool { return t.Kind == kind && t.State == dossier.TaskInProgress })
}

// BookPickup is the applicant asking for, or moving, the pickup of their dossier at
// home, until the courier sets out.
func (s *Service) BookPickup(ctx context.Context, id uuid.UUID, b Booking) (dossier.Dossier, error) {
	var p domain.Problems
	b.check(&p)
	if err := p.Err(); err != nil {
		return dossier.Dossier{}, err
	}
	return s.choose(ctx, id, func(d dossier.Dossier, tasks []dossier.Task) (dossier.EventInput, error) {
		if onTheWay(tasks, dossier.TaskPickup) {
			return dossier.EventInput{}, domain.Errorf(CodeCourierOnTheWay, "the courier is on the way to you; call the post office to change the pickup")
		}
		return dossier.EventInput{Event: dossier.EventSchedulePickup, Date: b.Date, Slot: &b.Slot, Address: b.Address}, nil
	})
}

// CancelPickup withdraws the dossier before the courier sets out for it.
func (s *Service) CancelPickup(ctx context.Context, id uuid.UUID) (dossier.Dossier, error) {
	return s.choose(ctx, id, func(d dossier.Dossier, tasks []dossier.Task) (dossier.EventInput, error) {
		if onTheWay(tasks, dossier.TaskPickup) {
			return dossier.EventInput{}, domain.Errorf(CodeCourierOnTheWay, "the courier is on the way to you; call the post office to cancel")
		}
		return dossier.EventInput{Event: dossier.EventCancel, Note: "cancelled by the applicant"}, nil
	})
}

// DeliveryRequest is how the applicant wants their result: at home (with a Booking), or
// from the post office's counter.
type DeliveryRequest struct {
	Choice  dossier.DeliveryChoice
	Booking Booking
}

// ChooseDelivery records how the applicant wants the result, until the courier sets out
// with it. Home books a slot (a failed or held delivery gets its new attempt); the
// counter holds the result at the post office once it arrives there.
func (s *Service) ChooseDelivery(ctx context.Context, id uuid.UUID, r DeliveryRequest) (dossier.Dossier, error) {
	var p domain.Problems
	p.Check(r.Choice == dossier.ChoiceHome || r.Choice == dossier.ChoicePostOffice, "choice", "must be home or post_office")
	if r.Choice == dossier.ChoiceHome {
		r.Booking.check(&p)
	}
	if err := p.Err(); err != nil {
		return dossier.Dossier{}, err
	}
	return s.choose(ctx, id, func(d dossier.Dossier, _ []dossier.Task) (dossier.EventInput, error) {
		in := dossier.EventInput{Event: dossier.EventChooseDelivery, Choice: r.Choice}
		if r.Choice == dossier.ChoiceHome {
			in.Date, in.Slot, in.Address = r.Booking.Date, &r.Booking.Slot, r.Booking.Address
		}
		atOffice := d.Holder.Kind == dossier.PartyPostOffice && (d.State == dossier.StateResultAtPostOffice || d.State == dossier.StateRedeliveryScheduled)
		failedOrHeld := d.State == dossier.StateDeliveryFailed || d.State == dossier.StateHeldAtPostOffice
		switch {
		case d.State == dossier.StateOutForDelivery:
			return dossier.EventInput{}, domain.Errorf(CodeCourierOnTheWay, "the courier is already on the way with your result")
		case r.Choice == dossier.ChoiceHome && failedOrHeld:
			in.Event = dossier.EventScheduleRedelivery
		case r.Choice == dossier.ChoicePostOffice && d.State == dossier.StateHeldAtPostOffice:
			return dossier.EventInput{}, nil // it already waits at the counter
		case r.Choice == dossier.ChoicePostOffice && (d.State == dossier.StateDeliveryFailed || atOffice):
			in.Event = dossier.EventHold
		}
		return in, nil
	})
}

// choose applies an applicant's choice as an event on the dossier as it stands.
func (s *Service) choose(ctx context.Context, id uuid.UUID, event func(d dossier.Dossier, tasks []dossier.Task) (dossier.EventInput, error)) (dossier.Dossier, error) {
	d, tasks, err := s.dossiers.Get(ctx, id)
	if err != nil {
		return dossier.Dossier{}, err
	}
	in, err := event(d, tasks)
	if err != nil || in.Event == "" {
		return d, err
	}
	in.Version = d.Version
	return s.dossiers.Apply(ctx, id, in)
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
	d, _, err := s.dossiers.Get(ctx, id)
	if err != nil {
		return Rating{}, err
	}
	if principal.Role != auth.RoleCitizen || d.State != dossier.StateDelivered {
		return Rating{}, domain.Errorf(CodeNotRatable, "only the applicant rates a dossier, once they have the result")
	}
	r := Rating{DossierID: id, Stars: stars, Comment: comment, RatedAt: s.now()}
	entry := audit.Entry{At: r.RatedAt, ActorRole: string(principal.Role), Source: principal.Source, Action: "dossier.rate",
		ResourceKind: "dossier", ResourceID: id.String(), Detail: map[string]any{"stars": stars}}
	return r, s.store.Rate(ctx, r, entry)
}
