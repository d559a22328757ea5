package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"courierd/api"
	"courierd/domain"
	"courierd/domain/dossier"
)

// TestStatefulAPI drives random sequences of API operations against one real server over a
// real socket — dispatchers, clerks, handhelds with replays and offline backlogs, citizens,
// bank and portal callbacks, some of them at once, and now and then hostile input — and
// after every step checks what must always hold of the record:
//   - no answer is a 5xx (a push shed for load, 503 with Retry-After, is sent again);
//   - every dossier's custody chain verifies, and its last entry names the holder (no entry:
//     the holder is where the dossier was born);
//   - every courier's cash and the agency's remittance add up to their lines, never negative;
//   - every push mutation answered applied, duplicate or rejected is stored exactly once,
//     with the answer it was first given;
//   - no dossier is on two open manifests;
//   - no dossier has been paid (bank transfers and the couriers' takings) more than it is due.
//
// The server lives for the whole run and each sequence opens its own dossiers. make test
// runs 20 sequences; scripts/fuzz.sh runs a long one (-rapid.checks, or RAPID_CHECKS).
func TestStatefulAPI(t *testing.T) {
	t.Parallel()
	shortRunUnlessAsked()
	h := newHarness(t, nil)
	run := &statefulRun{h: h, base: h.listen(t), outer: t, client: &http.Client{Timeout: 30 * time.Second},
		seqs: map[string]int64{}, counts: map[string]int{}, outcomes: map[string]int{}}
	run.login()
	// The figures are told whether the run passed or not.
	defer func() {
		t.Logf("stateful run: %d sequences (shrinking included), %d steps, %d requests; actions: %s; answers: %s",
			run.sequences, run.steps, run.requests, tally(run.counts), tally(run.outcomes))
	}()
	rapid.Check(t, func(rt *rapid.T) {
		run.sequences++
		w := &world{run: run, acked: map[string]string{}, touched: map[string]bool{}}
		rt.Repeat(w.actions())
	})
}

// statefulWithout leaves actions out of a run, to look past a failure already known.
var statefulWithout = flag.String("stateful.without", "", "TestStatefulAPI: actions to leave out, comma-separated (e.g. hostile:nulInDossier,bankPayment)")

// shortRunUnlessAsked keeps make test's run short: 20 sequences unless a longer run was
// asked for on the command line or in the environment; and makes them long enough.
func shortRunUnlessAsked() {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["rapid.checks"] && os.Getenv("RAPID_CHECKS") == "" {
		_ = flag.Set("rapid.checks", "20")
	}
	if !set["rapid.steps"] && os.Getenv("RAPID_STEPS") == "" {
		// rapid's steps count the actions skipped for want of a dossier or a batch too.
		_ = flag.Set("rapid.steps", "60")
	}
}

func tally(m map[string]int) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(out, " ")
}

// The staff a run acts as: couriers of the dispatcher's post office, each on a handheld.
var (
	statefulCouriers = []string{"courier01", "courier02", "courier03"}
	statefulStaff    = []string{"dispatcher", "clerk", "admin"}
)

// statefulRun is what outlives one sequence: the server, the logins, the last sequence
// number each handheld sent, and the figures.
type statefulRun struct {
	h      *harness
	base   string
	outer  *testing.T
	client *http.Client

	mu       sync.Mutex
	tokens   map[string]string
	loggedAt time.Time
	seqs     map[string]int64 // the last seq each handheld sent
	phones   int

	sequences, steps, requests int
	counts, outcomes           map[string]int
}

// login (again, once access tokens near their ten minutes) as every member of staff.
func (r *statefulRun) login() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.forgetTokens()
	r.tokens = map[string]string{}
	for _, u := range statefulStaff {
		r.tokens[u] = r.h.token(r.outer, u)
	}
	for _, c := range statefulCouriers {
		r.tokens[c+"@device"] = r.h.token(r.outer, c+"@device")
	}
	r.loggedAt = time.Now()
}

// call is one request: who sends it ("" nobody, a member of staff, or "bearer:" and a
// citizen's token), and extra headers.
type call struct {
	who, method, path, body string
	header                  map[string]string
}

// send makes the call over the socket and fails the sequence on any 5xx.
func (r *statefulRun) send(t *rapid.T, c call) reply {
	t.Helper()
	got, err := r.exchange(c)
	r.judge(t, c, got, err)
	return got
}

// both sends two calls at the same moment; they are judged once both are answered, as
// a sequence fails only from its own goroutine.
func (r *statefulRun) both(t *rapid.T, a, b call) (reply, reply) {
	t.Helper()
	var ra, rb reply
	var ea, eb error
	var wg sync.WaitGroup
	wg.Go(func() { ra, ea = r.exchange(a) })
	wg.Go(func() { rb, eb = r.exchange(b) })
	wg.Wait()
	r.judge(t, a, ra, ea)
	r.judge(t, b, rb, eb)
	return ra, rb
}

func (r *statefulRun) judge(t *rapid.T, c call, got reply, err error) {
	t.Helper()
	if err != nil {
		failf(t, "%s %s: %v", c.method, c.path, err)
	}
	if got.status >= 500 {
		// The route, not the path, is the failure: which dossier it named is a detail.
		route := anyID.ReplaceAllString(c.path, ":id")
		failf(t, "5xx from "+c.method+" "+route+" as %q\n  body: %.600q\n  → %d %.600s", c.who, c.body, got.status, got.raw)
	}
}

// exchange sends a call, again after its Retry-After when a push was shed for load.
func (r *statefulRun) exchange(c call) (reply, error) {
	for attempt := 1; ; attempt++ {
		got, err := r.exchangeOnce(c)
		shed := got.status == http.StatusServiceUnavailable && got.body["code"] == "UNAVAILABLE" && got.header.Get("Retry-After") != ""
		if err == nil && shed && attempt < 3 {
			time.Sleep(2 * time.Second)
			continue
		}
		return got, err
	}
}

func (r *statefulRun) exchangeOnce(c call) (reply, error) {
	req, err := http.NewRequest(c.method, r.base+c.path, strings.NewReader(c.body))
	if err != nil {
		return reply{}, err
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	r.mu.Lock()
	token, staff := r.tokens[c.who]
	r.requests++
	r.mu.Unlock()
	switch {
	case strings.HasPrefix(c.who, "bearer:"):
		req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(c.who, "bearer:"))
	case staff:
		req.Header.Set("Authorization", "Bearer "+token)
		if strings.Contains(c.who, "@") {
			req.Header.Set("X-Device-ID", deviceKey(c.who))
			req.Header.Set("X-App-Version", "1.4.2")
		}
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("reading the answer: %w", err)
	}
	got := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &got.body)
	code, _ := got.body["code"].(string)
	r.mu.Lock()
	r.outcomes[fmt.Sprint(resp.StatusCode/100, "xx", strings.TrimSuffix(":"+code, ":"))]++
	r.mu.Unlock()
	return got, nil
}

// failf fails the sequence. rapid tells one failure from another by its message, and
// shrinks a sequence only while it fails the same way: the message is the bare format, the
// same however ids and times differ from one run to the next, and the details are logged.
func failf(t *rapid.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	t.Fatal(format)
}

// signed is a call signed with a shared secret, as the portal and the bank sign theirs.
func signedCall(path, body, secret, prefix string) call {
	at := time.Now().Unix()
	return call{method: http.MethodPost, path: path, body: body, header: map[string]string{
		"X-" + prefix + "-Timestamp": fmt.Sprint(at), "X-" + prefix + "-Signature": api.SignPortalRequest([]byte(secret), at, []byte(body))}}
}

// trackedDossier is a dossier a sequence opened.
type trackedDossier struct {
	id, receipt, phone string
	// born is who held it when it was opened, as "kind:id".
	born string
	// citizen is the applicant's token once they logged in.
	citizen string
}

type trackedManifest struct {
	id, direction, seal string
	ids, receipts       []string
}

// sentBatch is a push as a handheld sent it, kept to be sent again.
type sentBatch struct {
	courier string
	body    string
}

// world is one sequence's model: what it opened and sent, and what the server acknowledged.
type world struct {
	run       *statefulRun
	dossiers  []*trackedDossier
	manifests []trackedManifest
	batches   []sentBatch
	payments  []string // bodies of the bank's calls
	// acked: mutation id → the status it was first answered with (applied or rejected).
	acked   map[string]string
	touched map[string]bool
}

func (w *world) actions() map[string]func(*rapid.T) {
	count := func(name string, action func(*rapid.T)) func(*rapid.T) {
		return func(t *rapid.T) {
			if time.Since(w.run.loggedAt) > 8*time.Minute {
				w.run.login()
			}
			action(t)
			w.run.mu.Lock()
			w.run.counts[name]++
			w.run.steps++
			w.run.mu.Unlock()
		}
	}
	actions := map[string]func(*rapid.T){
		"openPickup":      w.openPickup,
		"openAtCounter":   w.openAtCounter,
		"openAtDesk":      w.openAtDesk,
		"openFromPortal":  w.openFromPortal,
		"event":           w.event,
		"progress":        w.progress,
		"sendManifest":    w.sendManifest,
		"receiveManifest": w.receiveManifest,
		"push":            w.push,
		"replayPush":      w.replayPush,
		"citizenChoice":   w.citizenChoice,
		"bankPayment":     w.bankPayment,
	}
	without := strings.Split(*statefulWithout, ",")
	hostile := w.hostileInputs()
	maps.DeleteFunc(hostile, func(name string, _ func(*rapid.T)) bool { return slices.Contains(without, name) })
	if len(hostile) > 0 {
		// One action draws among them, so that hostile input is one step in a dozen, not half.
		actions["hostile"] = func(t *rapid.T) {
			name := rapid.SampledFrom(slices.Sorted(maps.Keys(hostile))).Draw(t, "hostile input")
			hostile[name](t)
			w.run.mu.Lock()
			w.run.counts[name]++
			w.run.mu.Unlock()
		}
	}
	for _, name := range without {
		delete(actions, name)
	}
	for name, action := range actions {
		actions[name] = count(name, action)
	}
	actions[""] = w.check
	return actions
}

// freshPhone is a mobile number no other applicant of the run has, so that each
// applicant's one-time codes (and their limits) are their own.
func (w *world) freshPhone() string {
	w.run.mu.Lock()
	defer w.run.mu.Unlock()
	w.run.phones++
	return fmt.Sprintf("09%08d", w.run.phones)
}

func (w *world) open(t *rapid.T, who, body, phone, wantBorn string) {
	r := w.run.send(t, call{who: who, method: http.MethodPost, path: "/v1/dossiers", body: body})
	if r.status != http.StatusCreated {
		failf(t, "opening a dossier as %s: %d %s", who, r.status, r.raw)
	}
	w.track(t, r, phone, wantBorn)
}

// track keeps a dossier just opened, checking it was born where its channel says.
func (w *world) track(t *rapid.T, r reply, phone, wantBorn string) {
	id := r.body["id"].(string)
	d := &trackedDossier{id: id, receipt: r.body["receipt_code"].(string), phone: phone, born: party(w.read(t, id)["holder"])}
	if want := strings.ReplaceAll(wantBorn, "$id", d.id); d.born != want {
		failf(t, "dossier %s born with %s, want %s: %s", d.id, d.born, want, r.raw)
	}
	w.dossiers = append(w.dossiers, d)
	w.touched[d.id] = true
}

func (w *world) bodyWith(t *rapid.T, pickup bool) (string, string) {
	phone := w.freshPhone()
	return w.run.h.dossierBody(func(f map[string]string) { f["phone"], f["pickup"] = phone, fmt.Sprint(pickup) }), phone
}

func (w *world) openPickup(t *rapid.T) {
	body, phone := w.bodyWith(t, true)
	w.open(t, "dispatcher", body, phone, "applicant:$id")
}

func (w *world) openAtCounter(t *rapid.T) {
	body, phone := w.bodyWith(t, false)
	body = strings.Replace(body, `{"procedure_id"`, `{"channel":"counter","procedure_id"`, 1)
	w.open(t, "dispatcher", body, phone, "post_office:"+w.run.h.demo.PostOffices[0].ID.String())
}

func (w *world) openAtDesk(t *rapid.T) {
	body, phone := w.bodyWith(t, false)
	w.open(t, "clerk", body, phone, "agency:"+w.run.h.agency("Sở Tư pháp").ID.String())
}

// openFromPortal: the portal sends a dossier, sometimes twice (a retry, or two at once).
func (w *world) openFromPortal(t *rapid.T) {
	phone, pickup := w.freshPhone(), rapid.Bool().Draw(t, "pickup")
	body := fmt.Sprintf(`{"portal_ref":%q,"procedure_code":%q,"agency_code":%q,"pickup":%t,"return":true,
		"applicant":{"name":"Lê Văn Tâm","phone":%q,"citizen_id":"074088004321","address":"số 5, đường Yersin, phường Phú Lợi",
		"admin_unit_code":"25744","location":{"lat":10.99,"lon":106.685}}}`, "DVC-"+uuid.NewString(), judicialRecord, w.run.h.agency("Sở Tư pháp").Code, pickup, phone)
	c := signedCall("/v1/webhooks/portal/dossiers", body, portalSecret, "Portal")
	var first reply
	switch rapid.SampledFrom([]string{"once", "retry", "at once"}).Draw(t, "delivery") {
	case "once":
		first = w.run.send(t, c)
	case "retry":
		first = w.run.send(t, c)
		if again := w.run.send(t, c); again.body["id"] != first.body["id"] {
			failf(t, "a portal retry opened another dossier: %s then %s", first.raw, again.raw)
		}
	case "at once":
		a, b := w.run.both(t, c, c)
		if a.body["id"] != b.body["id"] {
			failf(t, "two portal calls at once opened two dossiers: %s and %s", a.raw, b.raw)
		}
		first = a
	}
	if first.status != http.StatusCreated && first.status != http.StatusOK {
		failf(t, "portal dossier: %d %s", first.status, first.raw)
	}
	born := "agency:" + w.run.h.agency("Sở Tư pháp").ID.String()
	if pickup {
		born = "applicant:$id"
	}
	w.track(t, first, phone, born)
}

func (w *world) pick(t *rapid.T) *trackedDossier {
	if len(w.dossiers) == 0 {
		t.Skip("no dossier yet")
	}
	return rapid.SampledFrom(w.dossiers).Draw(t, "dossier")
}

func (w *world) read(t *rapid.T, id string) map[string]any {
	r := w.run.send(t, call{who: "admin", method: http.MethodGet, path: "/v1/dossiers/" + id})
	if r.status != http.StatusOK {
		failf(t, "reading dossier %s: %d %s", id, r.status, r.raw)
	}
	return r.body
}

var dossierEvents = func() []string {
	out := make([]string, len(dossier.Events))
	for i, e := range dossier.Events {
		out[i] = string(e)
	}
	return out
}()

// step is the next thing that usually happens to a dossier in a state: an event staff
// report, or (mutation set) what the courier's handheld reports on the stop of that kind.
type step struct {
	who, event         string
	mutation, taskKind string
}

// usualSteps walk a dossier along its way, so that sequences reach the later states and
// handhelds report on their own stops; event and push meanwhile try everything else.
var usualSteps = map[string][]step{
	"requested":             {{who: "dispatcher", event: "assign_pickup"}},
	"scheduled":             {{who: "dispatcher", event: "assign_pickup"}},
	"assigned":              {{mutation: "task.pickup.v1", taskKind: "pickup"}, {mutation: "task.start.v1", taskKind: "pickup"}, {mutation: "task.fail.v1", taskKind: "pickup"}},
	"picked_up":             {{mutation: "task.handover_post_office.v1", taskKind: "pickup"}, {who: "clerk", event: "hand_to_agency"}},
	"at_post_office":        {{who: "clerk", event: "hand_to_agency"}},
	"handed_to_agency":      {{who: "clerk", event: "agency_accept"}, {who: "clerk", event: "agency_reject"}},
	"in_processing":         {{who: "clerk", event: "result_ready"}},
	"result_ready":          {{who: "clerk", event: "collect_result"}, {who: "dispatcher", event: "assign_collection"}},
	"rejected_incomplete":   {{who: "clerk", event: "collect_result"}},
	"result_at_post_office": {{who: "dispatcher", event: "dispatch_delivery"}, {who: "dispatcher", event: "collect_at_counter"}},
	"out_for_delivery":      {{mutation: "task.deliver.v1", taskKind: "delivery"}, {mutation: "task.fail.v1", taskKind: "delivery"}, {mutation: "task.collect_fee.v1", taskKind: "delivery"}},
	"delivery_failed":       {{who: "dispatcher", event: "schedule_redelivery"}, {who: "dispatcher", event: "hold"}},
	"redelivery_scheduled":  {{who: "dispatcher", event: "dispatch_delivery"}},
	"held_at_post_office":   {{who: "dispatcher", event: "collect_at_counter"}, {who: "dispatcher", event: "return_to_agency"}},
}

// atTheDoor is how a recipient proved who they are: the ID card's last four digits.
const atTheDoor = `"recipient":"applicant","citizen_id_last4":"1234","proof":{"identity_method":"citizen_id","recipient_name":"Trần Thị Mai"}`

// eventBody is an event as staff send it, with the fields that event reads (the server
// refuses any other).
func eventBody(event string, version float64, courier string) string {
	fields := map[string]string{
		"assign_pickup": `"courier_id":%q`, "assign_collection": `"courier_id":%q`, "dispatch_delivery": `"courier_id":%q`,
		"schedule_pickup": `"date":%q`, "schedule_redelivery": `"date":%q`,
		"pickup_failed": `"reason":"not_at_home"`, "delivery_fail": `"reason":"not_at_home"`,
		"deliver": atTheDoor, "collect_at_counter": atTheDoor, "collect_at_agency": atTheDoor,
		"agency_reject": `"note":"thiếu tờ khai"`, "choose_delivery": `"choice":"post_office"`,
	}[event]
	switch {
	case strings.Contains(fields, "courier_id"):
		fields = fmt.Sprintf(fields, courier)
	case strings.Contains(fields, "date"):
		fields = fmt.Sprintf(fields, weekdaySoon())
	}
	return strings.TrimSuffix(fmt.Sprintf(`{"event":%q,"version":%v,%s`, event, version, fields), ",") + "}"
}

// progress: a dossier's usual next steps, a few of them, each by the party who takes it,
// at the current version.
func (w *world) progress(t *rapid.T) {
	d := w.pick(t)
	for range rapid.IntRange(1, 4).Draw(t, "steps") {
		w.progressOne(t, d)
	}
}

func (w *world) progressOne(t *rapid.T, d *trackedDossier) {
	now := w.read(t, d.id)
	steps := usualSteps[now["state"].(string)]
	if len(steps) == 0 {
		return // nothing more happens to it
	}
	s := rapid.SampledFrom(steps).Draw(t, "step")
	w.touched[d.id] = true
	if s.mutation == "" {
		courier := w.run.h.courierOf(rapid.SampledFrom(statefulCouriers).Draw(t, "courier"))
		w.run.send(t, call{who: s.who, method: http.MethodPost, path: "/v1/dossiers/" + d.id + "/events", body: eventBody(s.event, now["version"].(float64), courier)})
		return
	}
	for _, task := range now["tasks"].([]any) {
		// A handover at the counter follows the stop that filled the bag, done by then.
		m := task.(map[string]any)
		if m["kind"] == s.taskKind && (s.mutation == "task.handover_post_office.v1" || (m["state"] != "done" && m["state"] != "cancelled")) {
			courier, seq := w.handheldFor(t, m)
			w.sendPush(t, courier, `{"mutations":[`+deviceMutation(seq, s.mutation, m["id"].(string), int(m["version"].(float64)), mutationPayloads[s.mutation])+`]}`, false)
			return
		}
	}
}

// event: a member of staff reports any event on a dossier, at its version or a stale one,
// sometimes twice at once.
func (w *world) event(t *rapid.T) {
	d := w.pick(t)
	who := rapid.SampledFrom(statefulStaff).Draw(t, "as")
	ev := rapid.SampledFrom(dossierEvents).Draw(t, "event")
	version := w.read(t, d.id)["version"].(float64) - float64(rapid.IntRange(0, 1).Draw(t, "staleness"))
	courier := w.run.h.courierOf(rapid.SampledFrom(statefulCouriers).Draw(t, "courier"))
	c := call{who: who, method: http.MethodPost, path: "/v1/dossiers/" + d.id + "/events", body: eventBody(ev, version, courier)}
	w.touched[d.id] = true
	if rapid.IntRange(0, 3).Draw(t, "twice at once") == 0 {
		a, b := w.run.both(t, c, c)
		if a.status == http.StatusOK && b.status == http.StatusOK && a.body["version"] == b.body["version"] {
			failf(t, "one version taken twice by %s: %s and %s", ev, a.raw, b.raw)
		}
		return
	}
	w.run.send(t, c)
}

// inStates is the sequence's dossiers in one of states, read from the database.
func (w *world) inStates(t *rapid.T, states ...string) []*trackedDossier {
	ids := make([]string, len(w.dossiers))
	for i, d := range w.dossiers {
		ids[i] = d.id
	}
	ready := map[string]bool{}
	eachRow(t, w.run.h.db.SQL(), `SELECT id FROM dossiers WHERE id = ANY(string_to_array($1, ',')::uuid[]) AND state = ANY(string_to_array($2, ','))`,
		func(scan func(...any)) {
			var id string
			scan(&id)
			ready[id] = true
		}, strings.Join(ids, ","), strings.Join(states, ","))
	var out []*trackedDossier
	for _, d := range w.dossiers {
		if ready[d.id] {
			out = append(out, d)
		}
	}
	return out
}

// subset draws some of the ready dossiers and, now and then, one that is not.
func (w *world) subset(t *rapid.T, ready []*trackedDossier) []*trackedDossier {
	var out []*trackedDossier
	for i, d := range ready {
		if rapid.Bool().Draw(t, fmt.Sprint("take ", i)) {
			out = append(out, d)
		}
	}
	if len(w.dossiers) > 0 && (len(out) == 0 || rapid.IntRange(0, 4).Draw(t, "add a stranger") == 0) {
		out = append(out, w.pick(t))
	}
	return out
}

// sendManifest: the post office sends dossiers to the agency, or the agency sends results
// back, in a sealed bag.
func (w *world) sendManifest(t *rapid.T) {
	direction := rapid.SampledFrom([]string{"to_agency", "from_agency"}).Draw(t, "direction")
	who, states := "dispatcher", []string{"at_post_office", "held_at_post_office"}
	if direction == "from_agency" {
		who, states = "clerk", []string{"result_ready", "rejected_incomplete"}
	}
	items := w.subset(t, w.inStates(t, states...))
	if len(items) == 0 {
		t.Skip("nothing to send")
	}
	m := trackedManifest{direction: direction, seal: fmt.Sprintf("TDM-%04d", rapid.IntRange(0, 9999).Draw(t, "seal"))}
	for _, d := range items {
		m.ids, m.receipts = append(m.ids, d.id), append(m.receipts, d.receipt)
		w.touched[d.id] = true
	}
	ids, _ := json.Marshal(m.ids)
	body := fmt.Sprintf(`{"direction":%q,"post_office_id":%q,"agency_id":%q,"seal_number":%q,"dossier_ids":%s}`,
		direction, w.run.h.demo.PostOffices[0].ID, w.run.h.agency("Sở Tư pháp").ID, m.seal, ids)
	if r := w.run.send(t, call{who: who, method: http.MethodPost, path: "/v1/manifests", body: body}); r.status == http.StatusCreated {
		m.id = r.body["id"].(string)
		w.manifests = append(w.manifests, m)
	}
}

// receiveManifest: the receiver counts a bag by ids or scanned receipt codes, some of them,
// reading the seal right or wrong; sometimes two receivers at once.
func (w *world) receiveManifest(t *rapid.T) {
	if len(w.manifests) == 0 {
		t.Skip("no manifest yet")
	}
	m := rapid.SampledFrom(w.manifests).Draw(t, "manifest")
	who := "clerk"
	if m.direction == "from_agency" {
		who = "dispatcher"
	}
	var ids, receipts []string
	for i := range m.ids {
		switch rapid.IntRange(0, 3).Draw(t, fmt.Sprint("count ", i)) {
		case 0: // missing
		case 1:
			receipts = append(receipts, m.receipts[i])
		default:
			ids = append(ids, m.ids[i])
		}
		w.touched[m.ids[i]] = true
	}
	seal := m.seal
	if rapid.IntRange(0, 3).Draw(t, "seal misread") == 0 {
		seal = "TDM-XXXX"
	}
	idsJSON, _ := json.Marshal(ids)
	receiptsJSON, _ := json.Marshal(receipts)
	c := call{who: who, method: http.MethodPost, path: "/v1/manifests/" + m.id + "/receive",
		body: fmt.Sprintf(`{"dossier_ids":%s,"receipt_codes":%s,"seal_number":%q}`, idsJSON, receiptsJSON, seal)}
	if rapid.IntRange(0, 3).Draw(t, "two receivers") == 0 {
		a, b := w.run.both(t, c, c)
		if a.status == http.StatusOK && b.status == http.StatusOK {
			failf(t, "a manifest received twice at once: %s and %s", a.raw, b.raw)
		}
		return
	}
	w.run.send(t, c)
}

// The mutation types a handheld sends, each with a payload the server takes.
var mutationPayloads = map[string]string{
	"task.pickup.v1":               pickupPayload,
	"task.deliver.v1":              `{"recipient":"applicant","recipient_name":"Trần Thị Mai","identity_method":"citizen_id","citizen_id_last4":"1234","signature_sha256":"` + strings.Repeat("ab", 32) + `"}`,
	"task.fail.v1":                 `{"reason":"not_at_home","note":"gọi không nghe máy"}`,
	"task.collect_result.v1":       `{"clerk_name":"Nguyễn Văn An"}`,
	"task.handover_post_office.v1": `{"received_by":"Lê Thị Hoa"}`,
	"task.collect_fee.v1":          `{"amount_vnd":25000,"method":"cash","receipt_number":"BL-0001"}`,
	"task.note.v1":                 `{"text":"gọi trước khi đến"}`,
	"task.start.v1":                `{}`,
}

// deviceMutation is a handheld's mutation at seq on task, the task's version as the
// device saw it (0: none sent).
func deviceMutation(seq int64, typ, task string, version int, payload string) string {
	return fmt.Sprintf(`{"seq":%d,"id":%q,"type":%q,"task_id":%q,"task_version":%d,"occurred_at":%q,"gps":{"lat":10.9732,"lon":106.6889,"accuracy_m":9},"payload":%s}`,
		seq, uuid.NewString(), typ, task, version, time.Now().UTC().Format(time.RFC3339), payload)
}

// push: a handheld sends what it recorded, one mutation or an offline backlog, each on a
// task of the sequence's dossiers at its version or a stale one; sometimes the same batch
// twice at once, as a retry racing the first send.
func (w *world) push(t *rapid.T) {
	n := rapid.IntRange(1, 5).Draw(t, "backlog")
	type stop struct {
		task    map[string]any
		dossier string
	}
	stops := make([]stop, n)
	for i := range stops {
		d := w.pick(t)
		stops[i] = stop{rapid.SampledFrom(w.read(t, d.id)["tasks"].([]any)).Draw(t, "task").(map[string]any), d.id}
	}
	courier, seq := w.handheldFor(t, stops[0].task)
	var muts []string
	for i, s := range stops {
		typ := rapid.SampledFrom(slices.Sorted(maps.Keys(mutationPayloads))).Draw(t, "type")
		version := int(s.task["version"].(float64)) - rapid.IntRange(0, 1).Draw(t, "staleness")
		muts = append(muts, deviceMutation(seq+int64(i), typ, s.task["id"].(string), version, mutationPayloads[typ]))
		w.touched[s.dossier] = true
	}
	w.sendPush(t, courier, `{"mutations":[`+strings.Join(muts, ",")+`]}`, rapid.IntRange(0, 3).Draw(t, "twice at once") == 0)
}

// replayPush: a handheld sends again a batch it sent before (its answer was lost).
func (w *world) replayPush(t *rapid.T) {
	if len(w.batches) == 0 {
		t.Skip("no batch sent yet")
	}
	b := rapid.SampledFrom(w.batches).Draw(t, "batch")
	w.sendPush(t, b.courier, b.body, false)
}

func (w *world) sendPush(t *rapid.T, courier, body string, twice bool) {
	c := call{who: courier, method: http.MethodPost, path: "/v1/device/sync/push", body: body}
	answers := []reply{}
	if twice {
		a, b := w.run.both(t, c, c)
		answers = append(answers, a, b)
	} else {
		answers = append(answers, w.run.send(t, c))
	}
	w.batches = append(w.batches, sentBatch{courier: courier, body: body})
	applied := map[string]int{}
	for _, r := range answers {
		if r.status == http.StatusConflict && r.body["code"] == "SEQUENCE_GAP" {
			w.resync(t, courier, r)
			continue
		}
		if r.status != http.StatusOK {
			continue
		}
		w.run.mu.Lock()
		w.run.seqs[courier] = max(w.run.seqs[courier], int64(r.body["last_seq"].(float64)))
		w.run.mu.Unlock()
		for _, res := range r.body["results"].([]any) {
			m := res.(map[string]any)
			id, status := m["id"].(string), m["status"].(string)
			code, _ := m["code"].(string)
			w.run.mu.Lock()
			w.run.outcomes[strings.TrimSuffix("mutation "+status+":"+code, ":")]++
			w.run.mu.Unlock()
			switch status {
			case "applied", "rejected":
				if first := w.acked[id]; first != "" && first != status {
					failf(t, "mutation %s answered %s, then %s", id, first, status)
				}
				w.acked[id] = status
				if status == "applied" {
					applied[id]++
				}
			case "duplicate":
				if _, ok := w.acked[id]; !ok {
					w.acked[id] = ""
				}
			default:
				failf(t, "mutation %s answered %q: %s", id, status, r.raw)
			}
		}
	}
	for id, n := range applied {
		if n > 1 {
			failf(t, "mutation %s applied %d times by pushes at once", id, n)
		}
	}
}

// resync takes the seq the server expects, as a handheld told of a gap does.
func (w *world) resync(t *rapid.T, courier string, r reply) {
	for _, e := range r.body["errors"].([]any) {
		if m := e.(map[string]any); m["field"] == "expected_seq" {
			var next int64
			if _, err := fmt.Sscan(m["reason"].(string), &next); err != nil {
				failf(t, "expected_seq %v", m["reason"])
			}
			w.run.mu.Lock()
			w.run.seqs[courier] = next - 1
			w.run.mu.Unlock()
		}
	}
}

var anyID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

var codeFor = regexp.MustCompile(`"phone":"([^"]+)","code":"(\d{6})"`)

// citizenChoice: an applicant logs in with a one-time code and says how they want their
// result, or withdraws their pickup.
func (w *world) citizenChoice(t *rapid.T) {
	d := w.pick(t)
	// Drawn first: whether the login is throttled depends on the clock, and a replay of the
	// sequence must draw the same.
	choice := rapid.SampledFrom([]string{"counter", "home", "withdraw", "handover"}).Draw(t, "choice")
	if d.citizen == "" {
		asked := w.run.send(t, call{method: http.MethodPost, path: "/v1/citizen/otp", body: fmt.Sprintf(`{"receipt_code":%q,"phone":%q}`, d.receipt, d.phone)})
		challenge, _ := asked.body["challenge_id"].(string)
		code := ""
		// The log masks the phone but its ends; the newest code to that mask is this one.
		masked := d.phone[:2] + "******" + d.phone[len(d.phone)-2:]
		for _, m := range codeFor.FindAllStringSubmatch(w.run.h.log.String(), -1) {
			if m[1] == masked {
				code = m[2]
			}
		}
		if challenge == "" || code == "" {
			return // refused, too many codes asked for lately: they try another day
		}
		r := w.run.send(t, call{method: http.MethodPost, path: "/v1/citizen/otp/verify", body: fmt.Sprintf(`{"challenge_id":%q,"code":%q}`, challenge, code)})
		if r.status != http.StatusOK {
			failf(t, "citizen login: %d %s", r.status, r.raw)
		}
		d.citizen = "bearer:" + r.body["access_token"].(string)
	}
	w.touched[d.id] = true
	path := "/v1/citizen/dossiers/" + d.id
	switch choice {
	case "counter":
		w.run.send(t, call{who: d.citizen, method: http.MethodPut, path: path + "/delivery", body: `{"choice":"post_office"}`})
	case "home":
		w.run.send(t, call{who: d.citizen, method: http.MethodPut, path: path + "/delivery", body: booking(weekdaySoon(), "08:00", "10:00")})
	case "withdraw":
		w.run.send(t, call{who: d.citizen, method: http.MethodDelete, path: path + "/pickup"})
	case "handover":
		w.run.send(t, call{who: d.citizen, method: http.MethodGet, path: path + "/handover"})
	}
}

// bankPayment: the bank reports a transfer for a dossier: the amount due, a repeat of an
// earlier report, the same report twice at once, a second transfer of the amount, or more.
func (w *world) bankPayment(t *rapid.T) {
	kind := rapid.SampledFrom([]string{"due", "repeat", "at once", "over"}).Draw(t, "transfer")
	if kind == "repeat" {
		if len(w.payments) == 0 {
			t.Skip("no transfer yet")
		}
		p := rapid.SampledFrom(w.payments).Draw(t, "earlier")
		w.run.send(t, signedCall("/v1/payments/callback", p, paymentSecret, "Gateway"))
		return
	}
	d := w.pick(t)
	w.touched[d.id] = true
	due := int64(w.read(t, d.id)["due_vnd"].(float64))
	amount := due
	if kind == "over" {
		amount += int64(rapid.IntRange(1, 10_000_000).Draw(t, "over by"))
	}
	body := transferBody("FT"+uuid.NewString()[:12], d.receipt, amount, time.Now())
	w.payments = append(w.payments, body)
	c := signedCall("/v1/payments/callback", body, paymentSecret, "Gateway")
	if kind == "at once" {
		a, b := w.run.both(t, c, c)
		if a.status == http.StatusCreated && b.status == http.StatusCreated {
			failf(t, "one bank transaction recorded twice at once: %s and %s", a.raw, b.raw)
		}
		return
	}
	w.run.send(t, c)
}

// hostileInputs: input no honest client sends — NUL bytes in strings, integers past 2^31,
// huge sums of money — each in a place that reads it, each an action of its own so that a
// run can leave out one already known to fail.
func (w *world) hostileInputs() map[string]func(*rapid.T) {
	big := func(t *rapid.T) string {
		return rapid.SampledFrom([]string{"2147483648", "4294967296", "9223372036854775807", "1e30"}).Draw(t, "big number")
	}
	// note is a handheld's note on a stop, edited by edit.
	note := func(t *rapid.T, edit func(m string, seq int64) string) {
		d, task, courier, seq := w.stop(t)
		w.touched[d.id] = true
		w.sendPush(t, courier, `{"mutations":[`+edit(deviceMutation(seq, "task.note.v1", task, 0, mutationPayloads["task.note.v1"]), seq)+`]}`, false)
	}
	office, agency := w.run.h.demo.PostOffices[0].ID.String(), w.run.h.agency("Sở Tư pháp").ID.String()
	return map[string]func(*rapid.T){
		"hostile:nulInDossier": func(t *rapid.T) {
			body, _ := w.bodyWith(t, true)
			w.run.send(t, call{who: "dispatcher", method: http.MethodPost, path: "/v1/dossiers", body: strings.Replace(body, "Trần Thị Mai", `Trần\u0000Mai`, 1)})
		},
		"hostile:nulInNote": func(t *rapid.T) {
			note(t, func(m string, _ int64) string { return strings.Replace(m, "gọi trước", `gọi\u0000trước`, 1) })
		},
		"hostile:nulInSeal": func(t *rapid.T) {
			d := w.pick(t)
			w.run.send(t, call{who: "dispatcher", method: http.MethodPost, path: "/v1/manifests", body: fmt.Sprintf(
				`{"direction":"to_agency","post_office_id":%q,"agency_id":%q,"seal_number":"TDM\u0000","dossier_ids":[%q]}`, office, agency, d.id)})
		},
		"hostile:bigVersion": func(t *rapid.T) {
			d := w.pick(t)
			w.touched[d.id] = true
			w.run.send(t, call{who: "dispatcher", method: http.MethodPost, path: "/v1/dossiers/" + d.id + "/events", body: `{"event":"cancel","version":` + big(t) + `}`})
		},
		"hostile:bigTaskVersion": func(t *rapid.T) {
			n := big(t)
			note(t, func(m string, _ int64) string { return strings.Replace(m, `"task_version":0`, `"task_version":`+n, 1) })
		},
		"hostile:bigSeq": func(t *rapid.T) {
			n := big(t)
			note(t, func(m string, seq int64) string {
				return strings.Replace(m, fmt.Sprintf(`"seq":%d`, seq), `"seq":`+n, 1)
			})
		},
		"hostile:bigFee": func(t *rapid.T) {
			d, task, courier, seq := w.stop(t)
			w.touched[d.id] = true
			m := deviceMutation(seq, "task.pickup.v1", task, 0, `{"fee_collected_vnd":`+big(t)+`}`)
			if rapid.Bool().Draw(t, "as a fee collected later") {
				m = deviceMutation(seq, "task.collect_fee.v1", task, 0, `{"amount_vnd":`+big(t)+`,"method":"cash"}`)
			}
			w.sendPush(t, courier, `{"mutations":[`+m+`]}`, false)
		},
		"hostile:bigTransfer": func(t *rapid.T) {
			d := w.pick(t)
			w.touched[d.id] = true
			body := strings.Replace(transferBody("FT"+uuid.NewString()[:12], d.receipt, 1, time.Now()), `"amount_vnd":1`, `"amount_vnd":`+big(t), 1)
			w.run.send(t, signedCall("/v1/payments/callback", body, paymentSecret, "Gateway"))
		},
	}
}

// stop is a task of one of the sequence's dossiers and a handheld to report on it, with
// the seq it sends next.
func (w *world) stop(t *rapid.T) (*trackedDossier, string, string, int64) {
	d := w.pick(t)
	tasks := w.read(t, d.id)["tasks"].([]any)
	// Mostly a stop given to a courier, which their handheld's reports reach.
	given := slices.DeleteFunc(slices.Clone(tasks), func(task any) bool { return task.(map[string]any)["courier_id"] == nil })
	if len(given) > 0 && rapid.IntRange(0, 3).Draw(t, "a stop nobody was given") != 0 {
		tasks = given
	}
	task := rapid.SampledFrom(tasks).Draw(t, "task").(map[string]any)
	courier, seq := w.handheldFor(t, task)
	return d, task["id"].(string), courier, seq
}

// handheldFor is mostly the handheld of the courier task is assigned to, as in the field,
// and the seq it sends next.
func (w *world) handheldFor(t *rapid.T, task map[string]any) (string, int64) {
	courier := rapid.SampledFrom(statefulCouriers).Draw(t, "courier")
	for _, c := range statefulCouriers {
		if task["courier_id"] == w.run.h.courierOf(c) && rapid.IntRange(0, 3).Draw(t, "another courier's handheld") != 0 {
			courier = c
		}
	}
	courier += "@device"
	w.run.mu.Lock()
	defer w.run.mu.Unlock()
	return courier, w.run.seqs[courier] + 1
}

// eachRow calls row for every row query finds, closing the rows however row leaves: a
// failed check must not keep a connection of the pool the server shares.
func eachRow(t *rapid.T, db *sql.DB, query string, row func(scan func(...any)), args ...any) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		row(func(dst ...any) {
			if err := rows.Scan(dst...); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// check is every invariant, after every step.
func (w *world) check(t *rapid.T) {
	if len(w.dossiers) == 0 {
		return
	}
	ctx := context.Background()
	db := w.run.h.db.SQL()
	ids := make([]string, len(w.dossiers))
	born := map[string]string{}
	for i, d := range w.dossiers {
		ids[i], born[d.id] = d.id, d.born
	}
	for id := range w.touched {
		if v := w.run.send(t, call{who: "admin", method: http.MethodGet, path: "/v1/dossiers/" + id + "/custody/verify"}); v.body["intact"] != true {
			failf(t, "the custody chain of %s does not verify: %s", id, v.raw)
		}
	}
	w.touched = map[string]bool{}

	// The ledger's last entry names the holder; no entry, the holder is where it was born.
	eachRow(t, db, `SELECT d.id, d.holder_kind || ':' || d.holder_id, COALESCE(e.to_kind || ':' || e.to_id, ''), d.state
		FROM dossiers d LEFT JOIN LATERAL (SELECT to_kind, to_id FROM custody_entries c WHERE c.dossier_id = d.id ORDER BY seq DESC LIMIT 1) e ON true
		WHERE d.id = ANY(string_to_array($1, ',')::uuid[])`, func(scan func(...any)) {
		var id, holder, last, state string
		scan(&id, &holder, &last, &state)
		if last == "" {
			last = born[id]
		}
		if last != holder {
			failf(t, "dossier %s (%s) is held by %s, but its ledger ends with %s", id, state, holder, last)
		}
	}, strings.Join(ids, ","))

	// Every acknowledged mutation is stored once, with the answer it was given.
	for id, status := range w.acked {
		var n int
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT count(*), COALESCE(max(status), '') FROM sync_mutations WHERE id = $1`, id).Scan(&n, &stored); err != nil {
			t.Fatal(err)
		}
		if n != 1 || (status != "" && stored != status) {
			failf(t, "mutation %s, answered %q, is stored %d times (status %q)", id, status, n, stored)
		}
	}

	// No dossier is on two open manifests.
	var twice string
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(string_agg(dossier_id::text, ','), '') FROM
		(SELECT dossier_id FROM manifest_items WHERE status = 'sent' GROUP BY dossier_id HAVING count(*) > 1) x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != "" {
		failf(t, "dossiers on two open manifests: %s", twice)
	}

	// Nobody paid more than was due, unless it is flagged: the bank is never credited past
	// the bill, and money a courier took beyond it is owed back, on the remittance.
	refunds := w.checkTotals(t)
	eachRow(t, db, `SELECT d.id, d.fee_vnd + d.postage_vnd + d.surcharge_vnd,
		(SELECT COALESCE(sum(amount_vnd), 0) FROM payments p WHERE p.dossier_id = d.id),
		(SELECT COALESCE(sum(amount_vnd), 0) FROM cash_collections c WHERE c.dossier_id = d.id)
		FROM dossiers d WHERE d.id = ANY(string_to_array($1, ',')::uuid[])`, func(scan func(...any)) {
		var id string
		var due, bank, cash float64
		scan(&id, &due, &bank, &cash)
		if bank > due || (bank+cash > due && refunds[id] != bank+cash-due) {
			failf(t, "dossier %s was paid %.0f by bank and %.0f to couriers, %.0f due, %.0f to refund", id, bank, cash, due, refunds[id])
		}
	}, strings.Join(ids, ","))
}

// checkTotals: each courier's cash today and the agency's remittance add up to their lines.
// It answers what the remittance says is owed back, by dossier.
func (w *world) checkTotals(t *rapid.T) map[string]float64 {
	today := time.Now().In(domain.Vietnam)
	for _, c := range statefulCouriers {
		r := w.run.send(t, call{who: "dispatcher", method: http.MethodGet, path: "/v1/couriers/" + w.run.h.courierOf(c) + "/cash?date=" + today.Format(time.DateOnly)})
		var lines, cash float64
		for _, it := range r.body["items"].([]any) {
			m := it.(map[string]any)
			lines += m["amount_vnd"].(float64)
			if m["method"] == "cash" {
				cash += m["amount_vnd"].(float64)
			}
		}
		var byMethod float64
		for _, v := range r.body["by_method"].(map[string]any) {
			byMethod += v.(float64)
		}
		if total := r.body["total_vnd"].(float64); total != lines || total != byMethod || r.body["to_hand_in_vnd"] != cash || total < 0 || r.body["due_vnd"].(float64) < 0 {
			failf(t, "%s's cash does not add up: %s", c, r.raw)
		}
	}
	agency := w.run.h.agency("Sở Tư pháp").ID.String()
	r := w.run.send(t, call{who: "clerk", method: http.MethodGet, path: "/v1/agencies/" + agency + "/remittance?from=" + today.Format(time.DateOnly) +
		"&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)})
	var received, owed float64
	refunds := map[string]float64{}
	for _, it := range r.body["items"].([]any) {
		m := it.(map[string]any)
		refunds[m["dossier_id"].(string)] = m["refund_vnd"].(float64)
		if m["received_vnd"].(float64) < 0 || m["agency_vnd"].(float64) < 0 {
			failf(t, "a negative remittance line: %v", m)
		}
		received += m["received_vnd"].(float64)
		owed += m["agency_vnd"].(float64)
	}
	if r.body["received_vnd"] != received || r.body["agency_vnd"] != owed {
		failf(t, "the remittance does not add up: %.2000s", r.raw)
	}
	return refunds
}
