package dossier

// The public wording of events, which the applicant's timeline (applicant.Timeline)
// reads through Wording.

// words is a public text in the timeline's two languages.
type words struct{ vi, en string }

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

// Wording is how the applicant reads the event r records, in Vietnamese and in English,
// with the reason of a failed visit; false for an event the public timeline leaves out.
func Wording(r EventRecord) (vi, en string, ok bool) {
	w, ok := eventWords[r.Event]
	if !ok {
		return "", "", false
	}
	if reason, known := reasonWords[FailureReason(r.Note)]; known && (r.Event == EventDeliveryFail || r.Event == EventPickupFailed) {
		return w.vi + " (" + reason.vi + ")", w.en + " (" + reason.en + ")", true
	}
	return w.vi, w.en, true
}
