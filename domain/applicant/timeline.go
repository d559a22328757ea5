package applicant

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/dossier"
)

// Step is one line of the public timeline: when, and what happened in plain words. It
// names no staff, courier or office, and no other person's data.
type Step struct {
	At   time.Time
	Text string
}

// NextStep is what the applicant can expect next, and by when (nil when no date applies).
type NextStep struct {
	Text string
	By   *time.Time
}

// Lang is a timeline language: Vietnamese by default, English on request.
type Lang string

const (
	LangVI Lang = "vi"
	LangEN Lang = "en"
)

// say picks the text in lang.
func say(lang Lang, vi, en string) string {
	if lang == LangEN {
		return en
	}
	return vi
}

// Timeline is the applicant's view of a dossier's history and what comes next.
func Timeline(d dossier.Dossier, history []dossier.EventRecord, lang Lang) ([]Step, NextStep) {
	steps := make([]Step, 0, len(history))
	for _, r := range history {
		if vi, en, shown := dossier.Wording(r); shown {
			steps = append(steps, Step{At: r.At, Text: say(lang, vi, en)})
		}
	}
	return steps, nextStep(d, lang)
}

func nextStep(d dossier.Dossier, lang Lang) NextStep {
	next := func(vi, en string, by *time.Time) NextStep { return NextStep{Text: say(lang, vi, en), By: by} }
	switch d.State {
	case dossier.StateRequested, dossier.StateScheduled, dossier.StateAssigned:
		return next("Bưu tá sẽ đến nhận hồ sơ tại địa chỉ của bạn", "A postal worker will collect your papers at your address", d.PickupDue)
	case dossier.StatePickedUp, dossier.StateAtPostOffice:
		return next("Hồ sơ sẽ được chuyển đến cơ quan giải quyết", "Your papers will be handed to the agency", d.PickupDue)
	case dossier.StateHandedToAgency, dossier.StateInProcessing:
		return next("Ngày hẹn trả kết quả", "The agency's promised date for the result", d.AppointmentDate)
	case dossier.StateResultReady, dossier.StateRejectedIncomplete, dossier.StateResultAtPostOffice, dossier.StateOutForDelivery,
		dossier.StateDeliveryFailed, dossier.StateRedeliveryScheduled:
		if d.Return {
			return next("Kết quả sẽ được giao đến địa chỉ của bạn", "The result will be delivered to your address", d.DeliveryDue)
		}
		return next("Mời bạn đến cơ quan giải quyết để nhận kết quả", "Please collect the result at the agency", nil)
	case dossier.StateHeldAtPostOffice:
		return next("Mời bạn đến bưu cục nhận kết quả trước ngày", "Please collect the result at the post office before", d.HeldUntil)
	}
	return next("Hồ sơ đã hoàn tất", "Nothing more to do", nil)
}

// PublicTimeline is a dossier's history in plain words, for its applicant.
func (s *Service) PublicTimeline(ctx context.Context, id uuid.UUID, lang Lang) ([]Step, NextStep, error) {
	d, tasks, err := s.dossiers.Get(ctx, id)
	if err != nil {
		return nil, NextStep{}, err
	}
	history, err := s.dossiers.HistoryOf(ctx, d, tasks)
	if err != nil {
		return nil, NextStep{}, err
	}
	steps, next := Timeline(d, history, lang)
	return steps, next, nil
}

// Track is the public view of a dossier, for anyone holding its receipt code and the last
// four digits of the applicant's phone: the status timeline and the next expected step,
// nothing else. A code that matches no dossier and digits that do not match answer alike,
// NOT_FOUND, so that codes cannot be told apart by guessing. (The edge counts lookups and
// locks out who guesses, before this is asked.)
func (s *Service) Track(ctx context.Context, code dossier.ReceiptCode, phoneLast4 string, lang Lang) ([]Step, NextStep, error) {
	notFound := domain.Errorf(domain.CodeNotFound, "no dossier matches this receipt code and these phone digits")
	// The code and the digits are the caller's proof: the lookup itself is the system's.
	ctx = system(ctx)
	d, tasks, err := s.dossiers.GetByReceipt(ctx, code)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil, NextStep{}, notFound
	}
	if err != nil {
		return nil, NextStep{}, err
	}
	tail := d.Applicant.Phone[max(len(d.Applicant.Phone)-4, 0):]
	if len(phoneLast4) != 4 || subtle.ConstantTimeCompare([]byte(tail), []byte(phoneLast4)) != 1 {
		return nil, NextStep{}, notFound
	}
	history, err := s.dossiers.HistoryOf(ctx, d, tasks)
	if err != nil {
		return nil, NextStep{}, err
	}
	steps, next := Timeline(d, history, lang)
	return steps, next, nil
}
