package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// cashWorld is a generated record of money: dossiers of two post offices, couriers of
// each, and cash lines, transfers at the door and bank transfers written straight into the
// record over the last days, with the sums the tests expect kept beside.
type cashWorld struct {
	h        *harness
	rng      *rand.Rand
	offices  [2]uuid.UUID
	dossiers map[uuid.UUID][]cashDossier // by office
	couriers map[uuid.UUID][]uuid.UUID   // by office
	officeOf map[uuid.UUID]uuid.UUID     // courier → office
	today    time.Time
	// cash is each courier's cash by day (YYYY-MM-DD); officeCash each office's by day.
	cash       map[uuid.UUID]map[string]int64
	officeCash map[uuid.UUID]map[string]int64
}

type cashDossier struct{ id, task uuid.UUID }

// dispatcherOf is the demo dispatcher of an office.
func (w *cashWorld) dispatcherOf(office uuid.UUID) string {
	return map[bool]string{true: "dispatcher", false: "dispatcher2"}[office == w.offices[0]]
}

func newCashWorld(t *testing.T, h *harness, seed uint64) *cashWorld {
	t.Helper()
	w := &cashWorld{h: h, rng: rand.New(rand.NewPCG(seed, 35)), offices: [2]uuid.UUID{h.demo.PostOffices[0].ID, h.demo.PostOffices[1].ID},
		dossiers: map[uuid.UUID][]cashDossier{}, couriers: map[uuid.UUID][]uuid.UUID{}, officeOf: map[uuid.UUID]uuid.UUID{},
		today: domain.Midnight(h.clock.now().In(domain.Vietnam)), cash: map[uuid.UUID]map[string]int64{}, officeCash: map[uuid.UUID]map[string]int64{}}
	for _, c := range h.demo.Couriers {
		if (c.PostOfficeID == w.offices[0] || c.PostOfficeID == w.offices[1]) && len(w.couriers[c.PostOfficeID]) < 2 {
			w.couriers[c.PostOfficeID] = append(w.couriers[c.PostOfficeID], c.ID)
			w.officeOf[c.ID] = c.PostOfficeID
		}
	}
	m := newMoneyAPI(h)
	for i := range 6 {
		id, _, _ := m.assignedDossier(t, "")
		office := w.offices[i%2]
		if _, err := h.db.SQL().Exec(`UPDATE dossiers SET post_office_id = $2 WHERE id = $1`, id, office); err != nil {
			t.Fatal(err)
		}
		task := taskOfKind(h, t, id, "pickup")
		if _, err := h.db.SQL().Exec(`UPDATE tasks SET post_office_id = $2 WHERE id = $1`, task, office); err != nil {
			t.Fatal(err)
		}
		w.dossiers[office] = append(w.dossiers[office], cashDossier{uuid.MustParse(id), uuid.MustParse(task)})
	}
	for _, office := range w.offices {
		if len(w.couriers[office]) == 0 {
			t.Fatalf("the demo has no courier at %s", office)
		}
		w.officeCash[office] = map[string]int64{}
	}
	return w
}

// collect writes a courier's line of amount by method, taken on day (days from today).
func (w *cashWorld) collect(t *testing.T, courier uuid.UUID, day int, method string, amount int64) uuid.UUID {
	t.Helper()
	office := w.officeOf[courier]
	d := w.dossiers[office][w.rng.IntN(len(w.dossiers[office]))]
	at := w.today.AddDate(0, 0, day).Add(time.Duration(w.rng.IntN(86400)) * time.Second)
	id := uuid.New()
	if _, err := w.h.db.SQL().Exec(`INSERT INTO cash_collections (mutation_id, dossier_id, task_id, courier_id, amount_vnd, method, collected_at, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())`, id, d.id, d.task, courier, amount, method, at); err != nil {
		t.Fatal(err)
	}
	if method == "cash" {
		date := at.In(domain.Vietnam).Format(time.DateOnly)
		if w.cash[courier] == nil {
			w.cash[courier] = map[string]int64{}
		}
		w.cash[courier][date] += amount
		w.officeCash[office][date] += amount
	}
	return id
}

// generate writes 0 to 5 lines a day for each courier over the last days.
func (w *cashWorld) generate(t *testing.T, days int) {
	t.Helper()
	for _, office := range w.offices {
		for _, c := range w.couriers[office] {
			for day := -days + 1; day <= 0; day++ {
				for range w.rng.IntN(6) {
					w.collect(t, c, day, []string{"cash", "cash", "bank_transfer", "qr"}[w.rng.IntN(4)], 1+w.rng.Int64N(300_000))
				}
			}
		}
	}
}

func (w *cashWorld) date(day int) string { return w.today.AddDate(0, 0, day).Format(time.DateOnly) }

// cashDay is GET /couriers/{id}/cash of a day.
func (w *cashWorld) cashDay(t *testing.T, who string, courier uuid.UUID, date string) reply {
	t.Helper()
	r := w.h.as(who).do(t, http.MethodGet, "/v1/couriers/"+courier.String()+"/cash?date="+date, "")
	if r.status != http.StatusOK {
		t.Fatalf("cash of %s on %s: %d %s", courier, date, r.status, r.raw)
	}
	return r
}

func handIn(date string, counted, toHandIn int64) string {
	return fmt.Sprintf(`{"date":%q,"counted_vnd":%d,"to_hand_in_vnd":%d}`, date, counted, toHandIn)
}

func vnd(v any) int64 { return int64(v.(float64)) }

// TestCashHandIn: over generated days of collections for couriers of two offices, each
// day's cash handed in with a generated count is recorded with the shortfall or surplus
// against the day's cash lines, and the courier's day then shows it handed in, nothing
// left; a day handed in again, a day without cash and a figure the receiver was not shown
// are refused with their codes; a line synced after the hand-in is handed in on its own;
// another office's dispatcher does not find the courier, and no courier records a hand-in,
// their own least of all; the cash report sums per office and day what the test wrote.
func TestCashHandIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	w := newCashWorld(t, h, 1)
	const days = 4
	period := "?from=" + w.date(-days+1) + "&to=" + w.date(1)
	base := cashReport(t, h, period)
	w.generate(t, days)
	type officeDay struct {
		office uuid.UUID
		date   string
	}
	handedIn, short, over := map[officeDay]int64{}, map[officeDay]int64{}, map[officeDay]int64{}
	for courier, byDay := range w.cash {
		office := w.officeOf[courier]
		for date, cash := range byDay {
			day := w.cashDay(t, "admin", courier, date).body
			if vnd(day["still_to_hand_in_vnd"]) != cash || vnd(day["to_hand_in_vnd"]) != cash || vnd(day["handed_in_vnd"]) != 0 {
				t.Fatalf("%s on %s before the hand-in: %v, want %d to hand in", courier, date, day, cash)
			}
			if w.rng.IntN(4) == 0 {
				continue // not handed in yet
			}
			counted := max(cash+w.rng.Int64N(40_001)-20_000, 0)
			if w.rng.IntN(3) == 0 {
				counted = cash
			}
			who := []string{"admin", w.dispatcherOf(office)}[w.rng.IntN(2)]
			r := h.as(who).do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(date, counted, cash))
			if r.status != http.StatusCreated || vnd(r.body["to_hand_in_vnd"]) != cash || vnd(r.body["counted_vnd"]) != counted ||
				vnd(r.body["short_vnd"]) != max(cash-counted, 0) || vnd(r.body["over_vnd"]) != max(counted-cash, 0) || r.body["post_office_id"] != office.String() {
				t.Fatalf("hand-in of %d against %d: %d %s", counted, cash, r.status, r.raw)
			}
			k := officeDay{office, date}
			handedIn[k] += counted
			short[k] += max(cash-counted, 0)
			over[k] += max(counted-cash, 0)
			after := w.cashDay(t, w.dispatcherOf(office), courier, date).body
			if vnd(after["still_to_hand_in_vnd"]) != 0 || vnd(after["handed_in_vnd"]) != counted || len(after["hand_ins"].([]any)) != 1 {
				t.Fatalf("%s on %s after the hand-in: %v", courier, date, after)
			}
			for _, l := range after["items"].([]any) {
				if l := l.(map[string]any); (l["method"] == "cash") != (l["hand_in_id"] == r.body["id"]) {
					t.Fatalf("line %v, hand-in %s", l, r.body["id"])
				}
			}
			wantProblem(t, h.as("admin").do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(date, counted, cash)),
				http.StatusConflict, "CASH_ALREADY_HANDED_IN")
		}
	}
	got := cashReport(t, h, period)
	for k, row := range got {
		b := base[k]
		od := officeDay{uuid.MustParse(k[0]), k[1]}
		for field, want := range map[string]int64{"cash_vnd": w.officeCash[od.office][od.date], "handed_in_vnd": handedIn[od], "short_vnd": short[od], "over_vnd": over[od]} {
			if row[field]-b[field] != want {
				t.Errorf("%v: %s = %d (%d before), want %d more", k, field, row[field], b[field], want)
			}
		}
	}
	for od, v := range handedIn {
		if _, ok := got[[2]string{od.office.String(), od.date}]; !ok && v > 0 {
			t.Errorf("no report row for %v", od)
		}
	}

	courier := w.couriers[w.offices[0]][0]
	// A day without any cash, a figure that moved, another office, a courier.
	wantProblem(t, h.as("admin").do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(w.date(5), 0, 1)),
		http.StatusConflict, "NO_CASH_TO_HAND_IN")
	w.collect(t, courier, 1, "cash", 70_000)
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(w.date(1), 70_000, 69_000)),
		http.StatusConflict, "CASH_CHANGED")
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(w.date(1), 70_000, 70_000)),
		http.StatusNotFound, "NOT_FOUND")
	for _, username := range []string{"courier01", "courier02", "clerk"} {
		wantProblem(t, h.as(username).do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(w.date(1), 70_000, 70_000)),
			http.StatusForbidden, "FORBIDDEN")
	}
	wantProblem(t, h.as("admin").do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(w.date(1), -1, 70_000)),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "counted_vnd")
	// A line synced after the day was handed in is handed in on its own.
	r := h.as("dispatcher").do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(w.date(1), 70_000, 70_000))
	if r.status != http.StatusCreated {
		t.Fatalf("hand-in: %d %s", r.status, r.raw)
	}
	w.collect(t, courier, 1, "cash", 5_000)
	if day := w.cashDay(t, "dispatcher", courier, w.date(1)).body; vnd(day["still_to_hand_in_vnd"]) != 5_000 || vnd(day["handed_in_vnd"]) != 70_000 {
		t.Fatalf("a late line: %v", day)
	}
	if r := h.as("dispatcher").do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(w.date(1), 4_000, 5_000)); r.status != http.StatusCreated ||
		len(r.body["lines"].([]any)) != 1 || vnd(r.body["short_vnd"]) != 1_000 {
		t.Fatalf("the late line's hand-in: %d %s", r.status, r.raw)
	}
	var audited int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'cash.hand_in' AND resource_id = $1`, courier.String()).Scan(&audited); err != nil || audited < 2 {
		t.Fatalf("%d hand-ins audited: %v", audited, err)
	}
}

// TestCashHandInConcurrent: two receivers record the same day's cash at the same instant,
// over and over: exactly one hand-in is recorded each time, the other refused with
// CASH_ALREADY_HANDED_IN, and every line is covered once.
func TestCashHandInConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	w := newCashWorld(t, h, 2)
	courier := w.couriers[w.offices[0]][0]
	for round := range 8 {
		date := w.date(-round)
		var cash int64
		for range 1 + w.rng.IntN(4) {
			amount := 1 + w.rng.Int64N(200_000)
			w.collect(t, courier, -round, "cash", amount)
			cash += amount
		}
		statuses := make([]int, 2)
		codes := make([]any, 2)
		var wg sync.WaitGroup
		for i, who := range []string{"admin", "dispatcher"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := h.as(who).do(t, http.MethodPost, "/v1/couriers/"+courier.String()+"/cash/hand-ins", handIn(date, cash, cash))
				statuses[i], codes[i] = r.status, r.body["code"]
			}()
		}
		wg.Wait()
		created := 0
		for i, s := range statuses {
			switch {
			case s == http.StatusCreated:
				created++
			case s != http.StatusConflict || codes[i] != "CASH_ALREADY_HANDED_IN":
				t.Fatalf("round %d: %v %v", round, statuses, codes)
			}
		}
		if created != 1 {
			t.Fatalf("round %d: %d hand-ins recorded (%v %v)", round, created, statuses, codes)
		}
		if day := w.cashDay(t, "admin", courier, date).body; len(day["hand_ins"].([]any)) != 1 || vnd(day["handed_in_vnd"]) != cash {
			t.Fatalf("round %d: %v", round, day)
		}
	}
}

// cashReport is the admin's cash report by office and day, its money columns as numbers.
func cashReport(t *testing.T, h *harness, period string) map[[2]string]map[string]int64 {
	t.Helper()
	rows := sameAsJSON(t, h.as("admin"), "/v1/reports/cash"+period, false)
	out := map[[2]string]map[string]int64{}
	for _, row := range rows {
		m := map[string]int64{}
		for _, k := range []string{"cash_vnd", "handed_in_vnd", "short_vnd", "over_vnd", "remitted_vnd"} {
			m[k], _ = strconv.ParseInt(row[k], 10, 64)
		}
		out[[2]string{row["post_office_id"], row["date"]}] = m
	}
	return out
}

// pay writes a bank transfer of amount for a dossier of office on day (days from today).
func (w *cashWorld) pay(t *testing.T, office uuid.UUID, day int, amount int64) {
	t.Helper()
	d := w.dossiers[office][w.rng.IntN(len(w.dossiers[office]))]
	at := w.today.AddDate(0, 0, day).Add(time.Duration(w.rng.IntN(86400)) * time.Second)
	if _, err := w.h.db.SQL().Exec(`INSERT INTO payments (id, dossier_id, transaction_id, amount_vnd, paid_at, received_at) VALUES ($1, $2, $3, $4, $5, now())`,
		uuid.New(), d.id, "FT-"+uuid.NewString(), amount, at); err != nil {
		t.Fatal(err)
	}
}

// TestRemittances: over generated money for an agency's dossiers of two offices (cash
// lines and transfers on random days), remittances of random periods settle what the
// report says is owed; no receipt is ever settled twice, the report then shows it
// remitted and nothing owed; a wrong amount, a period settled already, a reused bank
// reference and callers other than admins are refused with their codes; two admins
// remitting the same period at once record one remittance; once every day is remitted
// each dossier's agency has exactly its fee's part of what was received, and the cash
// report shows the remitted shares per office on the day they were sent.
func TestRemittances(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	w := newCashWorld(t, h, 3)
	const days = 10
	for range 20 + w.rng.IntN(20) {
		office := w.offices[w.rng.IntN(2)]
		day := -w.rng.IntN(days)
		if w.rng.IntN(2) == 0 {
			w.pay(t, office, day, 1+w.rng.Int64N(60_000))
		} else {
			w.collect(t, w.couriers[office][w.rng.IntN(len(w.couriers[office]))], day, []string{"cash", "qr"}[w.rng.IntN(2)], 1+w.rng.Int64N(60_000))
		}
	}
	agency := h.agency("Sở Tư pháp").ID.String()
	officeOf := map[string]uuid.UUID{}
	for office, ds := range w.dossiers {
		for _, d := range ds {
			officeOf[d.id.String()] = office
		}
	}
	report := func(from, to int) reply {
		r := h.as("admin").do(t, http.MethodGet, "/v1/agencies/"+agency+"/remittance?from="+w.date(from)+"&to="+w.date(to), "")
		if r.status != http.StatusOK {
			t.Fatalf("remittance report: %d %s", r.status, r.raw)
		}
		return r
	}
	remit := func(who string, from, to int, amount int64, ref string) reply {
		return h.as(who).do(t, http.MethodPost, "/v1/agencies/"+agency+"/remittances",
			fmt.Sprintf(`{"from":%q,"to":%q,"remitted_vnd":%d,"bank_reference":%q}`, w.date(from), w.date(to), amount, ref))
	}
	period := "?from=" + w.date(-days) + "&to=" + w.date(1)
	base := cashReport(t, h, period)
	settled := map[string]bool{}
	remittedBy := map[uuid.UUID]int64{} // by office
	record := func(r reply) {
		t.Helper()
		var sum int64
		for _, it := range r.body["items"].([]any) {
			it := it.(map[string]any)
			if settled[it["receipt_id"].(string)] {
				t.Fatalf("receipt %s remitted twice", it["receipt_id"])
			}
			settled[it["receipt_id"].(string)] = true
			sum += vnd(it["agency_vnd"])
			remittedBy[officeOf[it["dossier_id"].(string)]] += vnd(it["agency_vnd"])
		}
		if sum != vnd(r.body["remitted_vnd"]) {
			t.Fatalf("items sum to %d: %s", sum, r.raw)
		}
	}
	// One line settled alone, by its dossier; then again; then a dossier without money.
	for _, l := range report(-days, 1).body["items"].([]any) {
		l := l.(map[string]any)
		if owed := vnd(l["owed_vnd"]); owed > 0 {
			one := func(amount int64, ref, dossier string) reply {
				return h.as("admin").do(t, http.MethodPost, "/v1/agencies/"+agency+"/remittances",
					fmt.Sprintf(`{"from":%q,"to":%q,"remitted_vnd":%d,"bank_reference":%q,"dossier_ids":[%q]}`, w.date(-days), w.date(1), amount, ref, dossier))
			}
			r := one(owed, "FT-ONE", l["dossier_id"].(string))
			if r.status != http.StatusCreated {
				t.Fatalf("one line: %d %s", r.status, r.raw)
			}
			record(r)
			if after := line(report(-days, 1), l["dossier_id"].(string)); vnd(after["owed_vnd"]) != 0 || vnd(after["remitted_vnd"]) != owed {
				t.Fatalf("after one line: %v", after)
			}
			wantProblem(t, one(owed, "FT-ONE-AGAIN", l["dossier_id"].(string)), http.StatusConflict, "ALREADY_REMITTED")
			wantProblem(t, one(owed, "FT-NONE", uuid.NewString()), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "dossier_ids")
			break
		}
	}
	for i := range 12 {
		from := -w.rng.IntN(days)
		to := from + 1 + w.rng.IntN(days+from)
		owed := vnd(report(from, to).body["owed_vnd"])
		ref := fmt.Sprintf("FT-REMIT-%d", i)
		if owed == 0 {
			wantProblem(t, remit("admin", from, to, 1, ref), http.StatusConflict, "ALREADY_REMITTED")
			continue
		}
		wantProblem(t, remit("admin", from, to, owed+1, ref), http.StatusUnprocessableEntity, "AMOUNT_MISMATCH")
		r := remit("admin", from, to, owed, ref)
		if r.status != http.StatusCreated {
			t.Fatalf("remit %d: %d %s", owed, r.status, r.raw)
		}
		record(r)
		after := report(from, to).body
		if vnd(after["owed_vnd"]) != 0 || vnd(after["remitted_vnd"]) < owed {
			t.Fatalf("after remitting %d: %v", owed, after)
		}
		wantProblem(t, remit("admin", from, to, owed, ref+"-again"), http.StatusConflict, "ALREADY_REMITTED")
	}
	// Scoping, a reused reference, then two admins at once over the whole span.
	for _, who := range []string{"clerk", "dispatcher", "courier01"} {
		wantProblem(t, remit(who, -days, 1, 1, "FT-X"), http.StatusForbidden, "FORBIDDEN")
	}
	w.pay(t, w.offices[0], 0, 1_000)
	owed := vnd(report(-days, 1).body["owed_vnd"])
	if owed > 0 {
		wantProblem(t, remit("admin", -days, 1, owed, "FT-REMIT-0"), http.StatusConflict, "CONFLICT", "bank_reference")
		replies := make([]reply, 2)
		var wg sync.WaitGroup
		for i := range replies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = remit("admin", -days, 1, owed, fmt.Sprintf("FT-BOTH-%d", i))
			}()
		}
		wg.Wait()
		created := 0
		for _, r := range replies {
			switch {
			case r.status == http.StatusCreated:
				created++
				record(r)
			case r.status != http.StatusConflict || r.body["code"] != "ALREADY_REMITTED":
				t.Fatalf("two at once: %d %s", r.status, r.raw)
			}
		}
		if created != 1 {
			t.Fatalf("%d remittances of the same lines", created)
		}
	}
	// Every dossier's agency got its fee's part of all it received.
	all := report(-days, 1).body
	for _, l := range all["items"].([]any) {
		l := l.(map[string]any)
		if vnd(l["owed_vnd"]) != 0 || vnd(l["remitted_vnd"]) != min(vnd(l["fee_vnd"]), vnd(l["received_vnd"])) {
			t.Errorf("dossier %s: %v", l["dossier_id"], l)
		}
	}
	got := cashReport(t, h, period)
	for _, office := range w.offices {
		k := [2]string{office.String(), w.date(0)}
		if got[k]["remitted_vnd"]-base[k]["remitted_vnd"] != remittedBy[office] {
			t.Errorf("%v: remitted %d, want %d", k, got[k]["remitted_vnd"]-base[k]["remitted_vnd"], remittedBy[office])
		}
	}
	var audited int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'agency.remit' AND resource_id = $1`, agency).Scan(&audited); err != nil || audited == 0 {
		t.Fatalf("%d remittances audited: %v", audited, err)
	}
}
