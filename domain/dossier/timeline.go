package dossier

import (
	"time"
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

type words struct{ vi, en string }

func (w words) in(l Lang) string {
	if l == LangEN {
		return w.en
	}
	return w.vi
}

// eventCreated is the history's first line, written when a dossier is opened: no event
// of the machine, but the applicant reads it too.
const eventCreated Event = "created"

var createdWords = words{"Hồ sơ đã được tiếp nhận", "Your application was registered"}

// Wording says an event as the applicant should read it, in l (its row's Words); false
// for what the applicant is not told of.
func Wording(e Event, l Lang) (string, bool) {
	if e == eventCreated {
		return createdWords.in(l), true
	}
	rule, known := eventRules[e]
	return rule.Words.in(l), known
}

var reasonWords = map[FailureReason]words{
	FailNotAtHome:       {"không có người nhận tại nhà", "nobody was at home"},
	FailRefused:         {"người nhận từ chối", "the recipient refused"},
	FailWrongAddress:    {"sai địa chỉ", "the address was wrong"},
	FailIdentityUnknown: {"chưa xác minh được người nhận", "the recipient's identity could not be checked"},
	FailOther:           {"lý do khác", "another reason"},
}

// Timeline is the applicant's view of a dossier's history and what comes next.
func Timeline(d Dossier, history []EventRecord, lang Lang) ([]Step, NextStep) {
	steps := make([]Step, 0, len(history))
	for _, r := range history {
		text, known := Wording(r.Event, lang)
		if !known {
			continue
		}
		if reason, ok := reasonWords[FailureReason(r.Note)]; ok && (r.Event == EventDeliveryFail || r.Event == EventPickupFailed) {
			text += " (" + reason.in(lang) + ")"
		}
		steps = append(steps, Step{At: r.At, Text: text})
	}
	return steps, nextStep(d, lang)
}

func nextStep(d Dossier, lang Lang) NextStep {
	say := func(vi, en string, by *time.Time) NextStep { return NextStep{Text: words{vi, en}.in(lang), By: by} }
	switch d.State {
	case StateRequested, StateScheduled, StateAssigned:
		return say("Bưu tá sẽ đến nhận hồ sơ tại địa chỉ của bạn", "A postal worker will collect your papers at your address", d.PickupDue)
	case StatePickedUp, StateAtPostOffice:
		return say("Hồ sơ sẽ được chuyển đến cơ quan giải quyết", "Your papers will be handed to the agency", d.PickupDue)
	case StateHandedToAgency, StateInProcessing:
		return say("Ngày hẹn trả kết quả", "The agency's promised date for the result", d.AppointmentDate)
	case StateResultReady, StateRejectedIncomplete, StateResultAtPostOffice, StateOutForDelivery, StateDeliveryFailed, StateRedeliveryScheduled:
		if d.Return {
			return say("Kết quả sẽ được giao đến địa chỉ của bạn", "The result will be delivered to your address", d.DeliveryDue)
		}
		return say("Mời bạn đến cơ quan giải quyết để nhận kết quả", "Please collect the result at the agency", nil)
	case StateHeldAtPostOffice:
		return say("Mời bạn đến bưu cục nhận kết quả trước ngày", "Please collect the result at the post office before", d.HeldUntil)
	}
	return say("Hồ sơ đã hoàn tất", "Nothing more to do", nil)
}
