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

// eventWords says each event as the applicant should read it.
var eventWords = map[Event]words{
	"created":               {"Hồ sơ đã được tiếp nhận", "Your application was registered"},
	EventSchedulePickup:     {"Đã hẹn ngày đến nhận hồ sơ", "A day was set to collect your papers"},
	EventAssignPickup:       {"Bưu tá đã được giao nhận hồ sơ của bạn", "A postal worker was assigned to collect your papers"},
	EventSetOut:             {"Bưu tá đang trên đường đến nhận hồ sơ", "A postal worker is on the way to collect your papers"},
	EventChooseDelivery:     {"Bạn đã chọn cách nhận kết quả", "You chose how to receive the result"},
	EventPickUp:             {"Bưu tá đã nhận hồ sơ tại địa chỉ của bạn", "Your papers were collected from your address"},
	EventPickupFailed:       {"Chưa nhận được hồ sơ; bưu điện sẽ hẹn lại", "Your papers could not be collected; the post office will arrange another visit"},
	EventArrivePostOffice:   {"Hồ sơ đã về bưu cục", "Your papers reached the post office"},
	EventHandToAgency:       {"Hồ sơ đã được chuyển đến cơ quan giải quyết", "Your papers were handed to the agency"},
	EventAgencyAccept:       {"Cơ quan đã tiếp nhận và đang giải quyết hồ sơ", "The agency accepted your application and is processing it"},
	EventAgencyReject:       {"Hồ sơ chưa đầy đủ; hồ sơ sẽ được trả lại cho bạn", "Your application is incomplete; your papers will be returned to you"},
	EventResultReady:        {"Đã có kết quả giải quyết", "The result of your application is ready"},
	EventCollectResult:      {"Kết quả đã về bưu cục", "The result reached the post office"},
	EventAssignCollection:   {"Bưu tá đã được giao nhận kết quả tại cơ quan giải quyết", "A postal worker was assigned to collect your result from the agency"},
	EventDispatchDelivery:   {"Bưu tá đang mang kết quả đến cho bạn", "A postal worker is bringing the result to you"},
	EventHandToCourier:      {"Bưu tá đã nhận kết quả tại bưu cục và đang mang đến cho bạn", "The postal worker took the result from the post office and is bringing it to you"},
	EventDeliver:            {"Đã giao kết quả", "The result was delivered"},
	EventDeliveryFail:       {"Chưa giao được kết quả", "The result could not be delivered"},
	EventScheduleRedelivery: {"Đã hẹn ngày giao lại", "Another delivery was arranged"},
	EventHold:               {"Kết quả đang được giữ tại bưu cục để bạn đến nhận", "The result is held at the post office for you to collect"},
	EventCollectAtCounter:   {"Đã nhận kết quả tại bưu cục", "The result was collected at the post office"},
	EventCollectAtAgency:    {"Đã nhận kết quả tại cơ quan giải quyết", "The result was collected at the agency"},
	EventReturnToAgency:     {"Quá hạn giữ; kết quả đã được trả về cơ quan giải quyết", "Not collected in time; the result went back to the agency"},
	EventCancel:             {"Yêu cầu đã được hủy", "The request was cancelled"},
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
		w, known := eventWords[r.Event]
		if !known {
			continue
		}
		text := w.in(lang)
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
