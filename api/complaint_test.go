package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"courierd/domain"
)

// complaintModel is what the test expects of one complaint it filed.
type complaintModel struct {
	id, dossier, office, category, state, answer string
}

// TestComplaintsGenerated lets three citizens with dossiers at both demo offices file
// complaints at random (their own dossiers and others', every category and some that are
// none, texts too short, too long and fine), while the offices' dispatchers, an admin and
// a clerk answer and close them at random; each answer is checked against a model of who
// may do what: another citizen's dossier and another office's complaint are NOT_FOUND, a
// clerk FORBIDDEN, a repeat of an open category COMPLAINT_ALREADY_OPEN, an act out of turn
// COMPLAINT_WRONG_STATE, bad input VALIDATION_FAILED. Then every citizen's list, every
// office's list and CSV, and the report by office and by category equal the model.
func TestComplaintsGenerated(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 24))
	offices := []string{h.demo.PostOffices[0].ID.String(), h.demo.PostOffices[1].ID.String()}
	dispatcherOf := map[string]string{offices[0]: "dispatcher", offices[1]: "dispatcher2"}
	phones := []string{"0913456701", "0913456702", "0913456703"}
	type dossierRef struct{ id, office, receipt, phone string }
	var dossiers []dossierRef
	for i := range 8 {
		phone, office := phones[i%len(phones)], offices[rng.IntN(len(offices))]
		r := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["phone"], f["office"] = phone, office }))
		if r.status != http.StatusCreated {
			t.Fatalf("dossier: %d %s", r.status, r.raw)
		}
		dossiers = append(dossiers, dossierRef{r.body["id"].(string), office, r.body["receipt_code"].(string), phone})
	}
	citizens := map[string]client{}
	for _, phone := range phones {
		for _, d := range dossiers {
			if d.phone == phone {
				citizens[phone] = h.citizenLogin(t, d.receipt, phone)
				break
			}
		}
	}
	categories := []string{"late", "damaged", "rude", "wrong_person", "other"}
	var model []*complaintModel
	openOf := func(dossier, category string) bool {
		for _, m := range model {
			if m.dossier == dossier && m.category == category && m.state == "open" {
				return true
			}
		}
		return false
	}
	filed, refused := 0, map[string]int{}
	for step := range 160 {
		if step%3 == 2 && len(model) > 0 {
			// Someone at the post acts on a complaint.
			m := model[rng.IntN(len(model))]
			who := []string{"dispatcher", "dispatcher2", "admin", "clerk"}[rng.IntN(4)]
			act, body := "answer", fmt.Sprintf(`{"answer":"Chúng tôi xin lỗi, lần %d"}`, step)
			if rng.IntN(2) == 0 {
				act, body = "close", ""
			}
			r := h.as(who).with("Idempotency-Key", fmt.Sprintf("act-%d", step)).do(t, http.MethodPost, "/v1/complaints/"+m.id+"/"+act, body)
			switch {
			case who == "clerk":
				wantProblem(t, r, http.StatusForbidden, "FORBIDDEN")
			case who != "admin" && dispatcherOf[m.office] != who:
				wantProblem(t, r, http.StatusNotFound, "NOT_FOUND")
			case act == "answer" && m.state != "open", act == "close" && m.state != "answered":
				wantProblem(t, r, http.StatusConflict, "COMPLAINT_WRONG_STATE")
			default:
				if r.status != http.StatusOK {
					t.Fatalf("%s %s %s: %d %s", who, act, m.state, r.status, r.raw)
				}
				if act == "answer" {
					m.state, m.answer = "answered", fmt.Sprintf("Chúng tôi xin lỗi, lần %d", step)
				} else {
					m.state = "closed"
				}
				if r.body["state"] != m.state || r.body["answer"] != m.answer {
					t.Fatalf("after %s: %s", act, r.raw)
				}
				continue
			}
			refused[who+" "+act]++
			continue
		}
		phone := phones[rng.IntN(len(phones))]
		d := dossiers[rng.IntN(len(dossiers))]
		category := categories[rng.IntN(len(categories))]
		text := "Bưu tá đến muộn hai ngày so với lịch hẹn."
		bad := ""
		switch rng.IntN(8) {
		case 0:
			category, bad = []string{"lost", "", "LATE"}[rng.IntN(3)], "category"
		case 1:
			text, bad = []string{"ngắn", "         ", strings.Repeat("dài ", 501)}[rng.IntN(3)], "text"
		}
		body, _ := json.Marshal(map[string]string{"category": category, "text": text})
		r := citizens[phone].with("Idempotency-Key", fmt.Sprintf("file-%d", step)).do(t, http.MethodPost, "/v1/citizen/dossiers/"+d.id+"/complaints", string(body))
		switch {
		case bad != "":
			wantProblem(t, r, http.StatusUnprocessableEntity, "VALIDATION_FAILED", bad)
			refused["invalid"]++
		case d.phone != phone:
			wantProblem(t, r, http.StatusNotFound, "NOT_FOUND")
			refused["another citizen's dossier"]++
		case openOf(d.id, category):
			wantProblem(t, r, http.StatusConflict, "COMPLAINT_ALREADY_OPEN")
			refused["already open"]++
		default:
			if r.status != http.StatusCreated || r.body["state"] != "open" || r.body["receipt_code"] != d.receipt {
				t.Fatalf("file: %d %s", r.status, r.raw)
			}
			due, _ := time.Parse(time.RFC3339, r.body["due_at"].(string))
			if want := domain.Midnight(domain.DateOf(time.Now()).AddDate(0, 2, 0)); due.Sub(want).Abs() > 4*24*time.Hour {
				t.Fatalf("due %s, about two months on %s", due, want)
			}
			model = append(model, &complaintModel{id: r.body["id"].(string), dossier: d.id, office: d.office, category: category, state: "open"})
			filed++
		}
	}
	t.Logf("%d complaints filed; refused: %v", filed, refused)
	if filed < 10 || refused["another citizen's dossier"] == 0 || refused["already open"] == 0 {
		t.Fatalf("the generated run tried too little: %d filed, refused %v", filed, refused)
	}

	// Each citizen sees their own dossiers' complaints with the answers, and no one else's.
	for _, d := range dossiers {
		for _, phone := range phones {
			r := citizens[phone].do(t, http.MethodGet, "/v1/citizen/dossiers/"+d.id+"/complaints?limit=500", "")
			if d.phone != phone {
				wantProblem(t, r, http.StatusNotFound, "NOT_FOUND")
				continue
			}
			want := map[string]*complaintModel{}
			for _, m := range model {
				if m.dossier == d.id {
					want[m.id] = m
				}
			}
			items := r.body["items"].([]any)
			if len(items) != len(want) {
				t.Fatalf("citizen sees %d complaints on %s, want %d", len(items), d.receipt, len(want))
			}
			for _, it := range items {
				c := it.(map[string]any)
				m := want[c["id"].(string)]
				if m == nil || c["state"] != m.state || c["answer"] != m.answer || c["category"] != m.category {
					t.Fatalf("citizen sees %v, want %+v", c, m)
				}
				if _, staffOnly := c["answered_by"]; staffOnly {
					t.Fatalf("the citizen is shown who answered: %v", c)
				}
			}
		}
	}
	// One complaint is read by its office and an admin, and by no other.
	for _, m := range model {
		for _, who := range []string{"dispatcher", "dispatcher2", "admin"} {
			r := h.as(who).do(t, http.MethodGet, "/v1/complaints/"+m.id, "")
			if who != "admin" && dispatcherOf[m.office] != who {
				wantProblem(t, r, http.StatusNotFound, "NOT_FOUND")
			} else if r.status != http.StatusOK || r.body["state"] != m.state || r.body["post_office_id"] != m.office || r.body["overdue"] != false {
				t.Fatalf("%s reads %+v: %d %s", who, m, r.status, r.raw)
			}
		}
	}
	// Each office sees its own, by state, as JSON and CSV; an admin every office's.
	for _, who := range []string{"dispatcher", "dispatcher2", "admin"} {
		for _, state := range []string{"", "open", "answered", "closed"} {
			want := 0
			for _, m := range model {
				if (who == "admin" || dispatcherOf[m.office] == who) && (state == "" || m.state == state) {
					want++
				}
			}
			query := "?limit=7"
			if state != "" {
				query += "&state=" + state
			}
			r := h.as(who).do(t, http.MethodGet, "/v1/complaints"+query, "")
			if r.status != http.StatusOK || r.body["total"] != float64(want) {
				t.Fatalf("%s lists %q: %d %v, want %d", who, state, r.status, r.body["total"], want)
			}
			csv := h.as(who).with("Accept", "text/csv").do(t, http.MethodGet, "/v1/complaints"+query, "")
			if lines := strings.Count(strings.TrimSpace(csv.raw), "\n"); csv.status != http.StatusOK || lines != want {
				t.Fatalf("%s's CSV of %q: %d, %d rows, want %d", who, state, csv.status, lines, want)
			}
		}
		if r := h.as(who).do(t, http.MethodGet, "/v1/complaints?overdue=true", ""); r.body["total"] != float64(0) {
			t.Fatalf("nothing is two months old, yet %s: %s", who, r.raw)
		}
	}
	wantProblem(t, h.as("clerk").do(t, http.MethodGet, "/v1/complaints", ""), http.StatusForbidden, "FORBIDDEN")
	wantProblem(t, h.as("courier01").do(t, http.MethodGet, "/v1/complaints", ""), http.StatusForbidden, "FORBIDDEN")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/complaints?overdue=maybe", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "overdue")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/complaints?state=pending", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "state")

	// The report counts what the model holds, per office and per category, in the caller's scope.
	today := domain.DateOf(time.Now())
	period := fmt.Sprintf("from=%s&to=%s", today.Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly))
	for _, who := range []string{"dispatcher", "dispatcher2", "admin"} {
		for _, by := range []string{"post_office", "category"} {
			want := map[string][2]int{} // filed, answered (all on time: nothing is two months old)
			for _, m := range model {
				if who != "admin" && dispatcherOf[m.office] != who {
					continue
				}
				key := m.office
				if by == "category" {
					key = m.category
				}
				w := want[key]
				w[0]++
				if m.state != "open" {
					w[1]++
				}
				want[key] = w
			}
			r := h.as(who).do(t, http.MethodGet, "/v1/reports/complaints?"+period+"&by="+by, "")
			items := r.body["items"].([]any)
			if r.status != http.StatusOK || len(items) != len(want) {
				t.Fatalf("%s's report by %s: %s, want %v", who, by, r.raw, want)
			}
			for _, it := range items {
				row := it.(map[string]any)
				w := want[row["key"].(string)]
				if row["filed"] != float64(w[0]) || row["answered_on_time"] != float64(w[1]) || row["answered_late"] != float64(0) || row["open_overdue"] != float64(0) {
					t.Fatalf("%s's report by %s: %v, want filed %d, answered %d", who, by, row, w[0], w[1])
				}
				if by == "category" && row[row["key"].(string)] != float64(w[0]) {
					t.Fatalf("a category's row counts its own category: %v", row)
				}
			}
		}
	}
	csv := h.as("admin").with("Accept", "text/csv").do(t, http.MethodGet, "/v1/reports/complaints?"+period+"&by=category", "")
	if csv.status != http.StatusOK || !strings.Contains(csv.raw, "answered_on_time") {
		t.Fatalf("report CSV: %d %s", csv.status, csv.raw)
	}
	for _, bad := range []string{"&by=agency", "&by=courier", "&by=nothing"} {
		wantProblem(t, h.as("admin").do(t, http.MethodGet, "/v1/reports/complaints?"+period+bad, ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "by")
	}
	wantProblem(t, h.as("admin").do(t, http.MethodGet, "/v1/reports/complaints?from=2025-01-01&to=2026-01-03", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "to")
	wantProblem(t, h.as("admin").do(t, http.MethodGet, "/v1/reports/complaints?from=2025-01-01", ""), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "to")
	wantProblem(t, h.as("clerk").do(t, http.MethodGet, "/v1/reports/complaints?"+period, ""), http.StatusForbidden, "FORBIDDEN")
}
