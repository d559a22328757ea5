package dossier

// The public wording of events, which the applicant's timeline (applicant.Timeline)
// reads through Wording; each event's own words are its row's (eventtable.go).

// words is a public text in the timeline's two languages.
type words struct{ vi, en string }

// eventCreated is the history's first line, written when a dossier is opened: no event
// of the machine, but the applicant reads it too.
const eventCreated Event = "created"

var createdWords = words{"Hồ sơ đã được tiếp nhận", "Your application was registered"}

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
	w := createdWords
	if r.Event != eventCreated {
		rule, known := eventRules[r.Event]
		if !known || rule.Words == (words{}) {
			return "", "", false
		}
		w = rule.Words
	}
	if reason, known := reasonWords[FailureReason(r.Note)]; known && (r.Event == EventDeliveryFail || r.Event == EventPickupFailed) {
		return w.vi + " (" + reason.vi + ")", w.en + " (" + reason.en + ")", true
	}
	return w.vi, w.en, true
}
