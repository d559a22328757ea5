package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"courierd/domain"
	"courierd/domain/dossier"
)

// bookable are the days a stop or a plan may be booked for, in order from today: working
// days of the harness's calendar (weekdays that are no holiday or day off, and announced
// working weekends) within the horizon.
func (h *harness) bookable(t testing.TB) []string {
	t.Helper()
	today := domain.DateOf(time.Now())
	last := today.AddDate(0, 0, dossier.DefaultClock.HorizonDays)
	r := h.as("admin").do(t, http.MethodGet, "/v1/holidays?limit=500&from="+today.Format(time.DateOnly)+"&to="+last.Format(time.DateOnly), "")
	if r.status != http.StatusOK {
		t.Fatalf("holidays: %d %s", r.status, r.raw)
	}
	kinds := map[string]string{}
	for _, item := range r.body["items"].([]any) {
		d := item.(map[string]any)
		kinds[d["date"].(string)] = d["kind"].(string)
	}
	var out []string
	for d := today; !d.After(last); d = d.AddDate(0, 0, 1) {
		kind, weekend := kinds[d.Format(time.DateOnly)], d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		if kind == "working_day" || !weekend && kind != "holiday" && kind != "day_off" {
			out = append(out, d.Format(time.DateOnly))
		}
	}
	return out
}

// workToday makes today a working day of the harness's calendar, for a test whose plan
// must be today's (its outcome reads the GPS points the test sends): a holiday or day off
// on today is moved away, and a weekend is made a compensatory working day.
func (h *harness) workToday(t testing.TB) string {
	t.Helper()
	today := domain.DateOf(time.Now())
	day := today.Format(time.DateOnly)
	r := h.do(t, http.MethodGet, "/v1/holidays?from="+day+"&to="+day, "")
	for _, item := range r.body["items"].([]any) {
		d := item.(map[string]any)
		d["date"] = "2100-01-01" // past any plan's horizon
		body, _ := json.Marshal(d)
		if moved := h.do(t, http.MethodPut, "/v1/holidays/"+d["id"].(string), string(body)); moved.status != http.StatusOK {
			t.Fatalf("moving %v away: %d %s", d, moved.status, moved.raw)
		}
	}
	if today.Weekday() == time.Saturday || today.Weekday() == time.Sunday {
		h.mustCreate(t, "/v1/holidays", `{"date":"`+day+`","kind":"working_day","name":"Ngày làm bù thử"}`, "id")
	}
	return day
}

// badDays are the days nobody may book, whoever asks: past, a weekend, a holiday, past the
// horizon. holiday is a working day the test has made one.
func badDays(holiday string) map[string]string {
	today := domain.DateOf(time.Now())
	next := func(w time.Weekday) string {
		d := today.AddDate(0, 0, 1)
		for d.Weekday() != w {
			d = d.AddDate(0, 0, 1)
		}
		return d.Format(time.DateOnly)
	}
	return map[string]string{
		"yesterday":        today.AddDate(0, 0, -1).Format(time.DateOnly),
		"a Saturday":       next(time.Saturday),
		"a Sunday":         next(time.Sunday),
		"a holiday":        holiday,
		"past the horizon": today.AddDate(0, 0, dossier.DefaultClock.HorizonDays+1).Format(time.DateOnly),
		"in 2100":          "2100-01-04",
	}
}

// TestBookingDatesMakeSense: every route that books a day (a dispatcher or an admin
// scheduling a stop, an applicant choosing one, a dispatcher planning a day) refuses,
// naming date, a day in the past, on a weekend, on a holiday or past the horizon; a
// working day within it is taken.
func TestBookingDatesMakeSense(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorkers(t) // plans are made on the plan workers
	days := h.bookable(t)
	holiday := days[len(days)-1]
	h.mustCreate(t, "/v1/holidays", `{"date":"`+holiday+`","kind":"holiday","name":"Ngày nghỉ thử"}`, "id")
	good := days[1]
	office := h.demo.PostOffices[0].ID.String()
	newDossier := func() string {
		return h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	}
	// The applicant's dossier is the same each time: a refused booking changes nothing.
	applied := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	applicant := h.citizenLogin(t, applied["receipt_code"].(string), "0913456789")
	routes := []struct {
		name string
		book func(day string) reply
	}{
		{"a dispatcher schedules a pickup", func(day string) reply {
			return h.event(t, "dispatcher", newDossier(), `{"event":"schedule_pickup","date":"`+day+`"}`)
		}},
		{"an admin schedules a pickup", func(day string) reply {
			return h.event(t, "admin", newDossier(), `{"event":"schedule_pickup","date":"`+day+`"}`)
		}},
		{"an applicant books a pickup", func(day string) reply {
			return applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+applied["id"].(string)+"/pickup", booking(day, "14:00", "16:00"))
		}},
		{"a dispatcher plans a day", func(day string) reply {
			return h.as("dispatcher").with("Prefer", "wait=60").do(t, http.MethodPost, "/v1/dispatch/plans", fmt.Sprintf(`{"post_office_id":%q,"date":%q,"time_limit_ms":100}`, office, day))
		}},
	}
	for _, route := range routes {
		t.Run(route.name, func(t *testing.T) {
			for name, day := range badDays(holiday) {
				r := route.book(day)
				if r.status != http.StatusUnprocessableEntity || r.body["code"] != "VALIDATION_FAILED" || fmt.Sprint(problemFields(r)) != "[date]" {
					t.Errorf("%s (%s): %d %s", name, day, r.status, r.raw)
				}
			}
		})
	}
	for _, route := range routes[:2] {
		if r := route.book(good); r.status != http.StatusOK {
			t.Errorf("%s on %s, a working day: %d %s", route.name, good, r.status, r.raw)
		}
	}
	if r := routes[3].book(good); r.status != http.StatusCreated {
		t.Errorf("a plan for %s, a working day: %d %s", good, r.status, r.raw)
	}
}
