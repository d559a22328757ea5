package applicant_test

import (
	"strings"
	"testing"
	"time"

	"courierd/domain/applicant"
	"courierd/domain/dossier"
)

// TestTimelineOverEveryEvent: for every event (and the dossier's creation), a history of
// that one record shows one step, at its time, in the language asked, or none when the
// event has no public wording; a failed visit says why, in both languages; the two
// languages never read alike.
func TestTimelineOverEveryEvent(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	reasons := []dossier.FailureReason{"", dossier.FailNotAtHome, dossier.FailRefused, dossier.FailWrongAddress, dossier.FailIdentityUnknown, dossier.FailOther}
	shown := 0
	for _, e := range append([]dossier.Event{"created"}, dossier.Events...) {
		for _, reason := range reasons {
			r := dossier.EventRecord{At: at, Event: e, Note: string(reason)}
			vi, _ := applicant.Timeline(dossier.Dossier{}, []dossier.EventRecord{r}, applicant.LangVI)
			en, _ := applicant.Timeline(dossier.Dossier{}, []dossier.EventRecord{r}, applicant.LangEN)
			wantVI, wantEN, ok := dossier.Wording(r)
			if !ok {
				if len(vi) != 0 || len(en) != 0 {
					t.Errorf("%s: steps %v %v for an event the timeline leaves out", e, vi, en)
				}
				continue
			}
			shown++
			if len(vi) != 1 || len(en) != 1 || vi[0].Text != wantVI || en[0].Text != wantEN || !vi[0].At.Equal(at) {
				t.Fatalf("%s (%q): steps %v / %v, want one step %q / %q at %s", e, reason, vi, en, wantVI, wantEN, at)
			}
			if vi[0].Text == en[0].Text {
				t.Errorf("%s: the same text in both languages: %q", e, vi[0].Text)
			}
			failed := e == dossier.EventDeliveryFail || e == dossier.EventPickupFailed
			if says := strings.HasSuffix(en[0].Text, ")"); says != (failed && reason != "") {
				t.Errorf("%s (%q): %q gives a reason: %v", e, reason, en[0].Text, says)
			}
		}
	}
	if shown == 0 {
		t.Fatal("no event has public wording")
	}
}

// TestNextStepOverEveryState: every state says what comes next in both languages, and
// the date it gives is one of the dossier's own.
func TestNextStepOverEveryState(t *testing.T) {
	day := func(d int) *time.Time { v := time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC); return &v }
	for _, ret := range []bool{false, true} {
		for _, s := range dossier.States {
			d := dossier.Dossier{State: s, Return: ret}
			d.PickupDue, d.AppointmentDate, d.DeliveryDue, d.HeldUntil = day(2), day(3), day(4), day(5)
			_, vi := applicant.Timeline(d, nil, applicant.LangVI)
			_, en := applicant.Timeline(d, nil, applicant.LangEN)
			if vi.Text == "" || en.Text == "" || vi.Text == en.Text {
				t.Errorf("%s (return %v): next step %q / %q", s, ret, vi.Text, en.Text)
			}
			if vi.By != en.By {
				t.Errorf("%s: the languages disagree on the date", s)
			}
			if by := vi.By; by != nil && by != d.PickupDue && by != d.AppointmentDate && by != d.DeliveryDue && by != d.HeldUntil {
				t.Errorf("%s: next step by %s, none of the dossier's dates", s, by)
			}
		}
	}
}
