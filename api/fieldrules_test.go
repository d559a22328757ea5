package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// mutationWithFix is a mutation whose GPS fix is gps (a JSON object, or "" for none).
func mutationWithFix(seq int, typ, task, payload, gps string) string {
	fix := ""
	if gps != "" {
		fix = `"gps":` + gps + `,`
	}
	return fmt.Sprintf(`{"seq":%d,"id":%q,"type":%q,"task_id":%q,"occurred_at":%q,%s"payload":%s}`,
		seq, uuid.NewString(), typ, task, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), fix, payload)
}

// fixAt is a GPS fix distance metres from the demo applicant's door, to accuracy metres.
func fixAt(distance, accuracy float64) string {
	pt := geo.PointAtBearingAndDistance(orb.Point{106.688935, 10.973242}, 60, distance)
	return fmt.Sprintf(`{"lat":%f,"lon":%f,"accuracy_m":%g}`, pt.Lat(), pt.Lon(), accuracy)
}

// flagsOf lists a dossier's flags as kind → the flag, as who reads them.
func (h *harness) flagsOf(t testing.TB, as, id string) map[string]map[string]any {
	t.Helper()
	r := h.as(as).do(t, http.MethodGet, "/v1/dossiers/"+id+"/flags", "")
	if r.status != http.StatusOK {
		t.Fatalf("flags as %s: %d %s", as, r.status, r.raw)
	}
	out := map[string]map[string]any{}
	for _, it := range r.body["items"].([]any) {
		f := it.(map[string]any)
		out[f["kind"].(string)] = f
	}
	return out
}

func resultErrors(r reply, i int) []string {
	var out []string
	res := r.body["results"].([]any)[i].(map[string]any)
	errs, _ := res["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// TestPickupFixesAndChecklist: the pickup stop carries its procedure's checklist; pickups
// pushed with generated fixes (near, far, vague, far and vague, none) and a partial
// checklist are applied, each flagged as due for its dossier's dispatchers and clerk; a
// document the checklist does not name refuses the pickup, which is quarantined.
func TestPickupFixesAndChecklist(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	proc := h.procedure(judicialRecord)
	office := h.demo.PostOffices[0].ID.String()
	cases := []struct {
		name string
		gps  string
		want []string
	}{
		{"near and sharp", fixAt(40, 12), nil},
		{"at the limits", fixAt(495, 200), nil},
		{"far", fixAt(17_000, 12), []string{"fix_far"}},
		{"vague", fixAt(40, 4_500), []string{"fix_inaccurate"}},
		{"far and vague", fixAt(17_000, 4_500), []string{"fix_far", "fix_inaccurate"}},
		{"no fix", "", []string{"fix_missing"}},
	}
	ids := make([]string, len(cases))
	for i := range cases {
		ids[i] = h.assigned(t, "courier01")
	}
	var d device
	h.drain(t, "courier01", &d)
	stop := d.tasks[pickupTask(h, t, ids[0])]
	checklist, _ := stop["checklist"].([]any)
	if stop["procedure_code"] != proc.Code || stop["procedure_name"] != proc.Name || len(checklist) != len(proc.Documents) || stop["needs"] != nil {
		t.Fatalf("the pickup stop on the device: %v", stop)
	}
	var names []string
	for i, doc := range checklist {
		m := doc.(map[string]any)
		if m["name"] != proc.Documents[i].Name || m["form"] != string(proc.Documents[i].Form) || m["quantity"] != float64(proc.Documents[i].Quantity) {
			t.Fatalf("checklist line %d: %v, want %+v", i, m, proc.Documents[i])
		}
		names = append(names, m["name"].(string))
	}

	// All but the last document found, at each generated fix.
	found, _ := json.Marshal(names[:len(names)-1])
	var batch []string
	for i, c := range cases {
		batch = append(batch, mutationWithFix(i+1, "task.pickup.v1", pickupTask(h, t, ids[i]),
			`{"signature_sha256":"`+strings.Repeat("ab", 32)+`","documents_checked":`+string(found)+`}`, c.gps))
	}
	if r := h.push(t, "courier01", batch...); statuses(r) != strings.TrimSpace(strings.Repeat("applied ", len(cases))) {
		t.Fatalf("pickups: %s", r.raw)
	}
	for i, c := range cases {
		flags := h.flagsOf(t, "dispatcher", ids[i])
		gap := flags["documents_missing"]
		if gap == nil || !slices.Equal(gap["documents"].([]any), []any{names[len(names)-1]}) || gap["event"] != "pick_up" {
			t.Fatalf("%s: the checklist's gap: %v", c.name, flags)
		}
		delete(flags, "documents_missing")
		var kinds []string
		for kind, f := range flags {
			kinds = append(kinds, kind)
			if kind != "fix_missing" && (f["distance_m"] == nil || f["accuracy_m"] == nil) {
				t.Fatalf("%s: a fix's flag without its distance and accuracy: %v", c.name, f)
			}
		}
		slices.Sort(kinds)
		if !slices.Equal(kinds, c.want) {
			t.Fatalf("%s: flags %v, want %v", c.name, kinds, c.want)
		}
		if h.do(t, http.MethodGet, "/v1/dossiers/"+ids[i], "").body["state"] != "picked_up" {
			t.Fatalf("%s: a flagged pickup must still be applied", c.name)
		}
	}
	// The agency's clerk sees the gaps too; the office's list has every flag, another
	// office's dispatcher sees none of it.
	if flags := h.flagsOf(t, "clerk", ids[0]); flags["documents_missing"] == nil {
		t.Fatalf("the clerk's view of the flags: %v", flags)
	}
	all := h.as("dispatcher").do(t, http.MethodGet, "/v1/post-offices/"+office+"/flags?limit=100", "")
	if all.status != http.StatusOK || all.body["total"] != float64(len(cases)+5) {
		t.Fatalf("the office's flags: %d %s", all.status, all.raw)
	}
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, "/v1/post-offices/"+office+"/flags", ""), http.StatusNotFound, "NOT_FOUND")

	// A document the checklist does not name: refused, named by its index, and kept for
	// the dispatcher (the dossier did change hands at the door).
	other := h.assigned(t, "courier01")
	r := h.push(t, "courier01", mutationWithFix(len(cases)+1, "task.pickup.v1", pickupTask(h, t, other),
		`{"documents_checked":[`+fmt.Sprintf("%q", names[0])+`,"Giấy khai sinh"]}`, fixAt(10, 10)))
	if statuses(r) != "rejected:VALIDATION_FAILED" || !slices.Equal(resultErrors(r, 0), []string{"payload.documents_checked[1]"}) {
		t.Fatalf("an unknown document: %s", r.raw)
	}
	if q := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false", ""); !strings.Contains(q.raw, "Giấy khai sinh") {
		t.Fatalf("the refused pickup is not kept for the dispatcher: %s", q.raw)
	}
}

// TestDeliveryProof: a delivery stop carries what its procedure needs; a delivery without
// them is refused with PROOF_MISSING naming each (over sync: quarantined, payload fields;
// over the event API: problem fields); with them it is applied, and a fix 17 km away to
// 4,500 m is flagged; a procedure an admin set to need nothing takes a bare delivery.
func TestDeliveryProof(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	courier := h.courierOf("courier01")
	id, _ := h.resultAtPostOffice(t)
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
	delivery := taskOf(h, t, id, "delivery")
	var d device
	h.drain(t, "courier01", &d)
	needs, _ := d.tasks[delivery]["needs"].(map[string]any)
	if needs["signature"] != true || needs["proxy_photo"] != true || needs["identity_check"] != true || needs["proxy_allowed"] != true {
		t.Fatalf("the delivery stop's needs: %v", d.tasks[delivery])
	}

	bare := mutationWithFix(1, "task.deliver.v1", delivery, `{"recipient":"proxy","recipient_name":"Trần Văn Bình","identity_method":"authorisation_letter"}`, "")
	r := h.push(t, "courier01", bare)
	want := []string{"payload.signature_sha256", "payload.photo_sha256", "payload.authorisation_sha256"}
	if statuses(r) != "rejected:PROOF_MISSING" || !slices.Equal(resultErrors(r, 0), want) {
		t.Fatalf("a bare delivery: %s", r.raw)
	}
	if q := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false", ""); !strings.Contains(q.raw, "PROOF_MISSING") {
		t.Fatalf("the refused delivery is not kept for the dispatcher: %s", q.raw)
	}
	wantProblem(t, h.event(t, "dispatcher", id, `{"event":"deliver","recipient":"applicant","citizen_id_last4":"1234"}`),
		http.StatusUnprocessableEntity, "PROOF_MISSING", "proof.signature_sha256")

	full := mutationWithFix(2, "task.deliver.v1", delivery, `{"recipient":"proxy","recipient_name":"Trần Văn Bình","identity_method":"authorisation_letter","authorisation_sha256":"`+
		strings.Repeat("cd", 32)+`","signature_sha256":"`+strings.Repeat("ab", 32)+`","photo_sha256":"`+strings.Repeat("ef", 32)+`"}`, fixAt(17_000, 4_500))
	if r := h.push(t, "courier01", full); statuses(r) != "applied" {
		t.Fatalf("a delivery with its proof: %s", r.raw)
	}
	flags := h.flagsOf(t, "dispatcher", id)
	far := flags["fix_far"]
	if far == nil || flags["fix_inaccurate"] == nil || far["event"] != "deliver" || far["distance_m"].(float64) < 16_900 || far["accuracy_m"] != float64(4_500) {
		t.Fatalf("the delivery's flags: %v", flags)
	}

	t.Run("a procedure that needs nothing at the door", func(t *testing.T) {
		body := `{"code":"1.009998","name":"Thủ tục thử nghiệm trả kết quả không cần ký","agency_kind":"department","processing_days":3,"fee_vnd":0,"postage_vnd":0,` +
			`"pickup_by_post":true,"return_by_post":true,"identity_check_required":false,"proxy_allowed":true,"documents":[]}`
		created := h.as("admin").do(t, http.MethodPost, "/v1/procedures", body)
		if created.status != http.StatusCreated || created.body["delivery_signature_required"] != true || created.body["delivery_proxy_photo_required"] != true {
			t.Fatalf("a procedure's delivery needs default to the strict ones: %d %s", created.status, created.raw)
		}
		pid := created.body["id"].(string)
		relaxed := strings.Replace(body, `"documents":[]`, `"documents":[],"delivery_signature_required":false,"delivery_proxy_photo_required":false`, 1)
		if r := h.as("admin").do(t, http.MethodPut, "/v1/procedures/"+pid, relaxed); r.status != http.StatusOK || r.body["delivery_signature_required"] != false {
			t.Fatalf("relaxing the procedure: %d %s", r.status, r.raw)
		}
		d := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["pickup"], f["procedure"] = "false", pid })).body
		other := d["id"].(string)
		h.mustEvent(t, "clerk", other, `{"event":"agency_accept"}`, "in_processing")
		h.mustEvent(t, "clerk", other, `{"event":"result_ready"}`, "result_ready")
		h.mustEvent(t, "clerk", other, `{"event":"collect_result"}`, "result_at_post_office")
		h.mustEvent(t, "dispatcher", other, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
		h.mustEvent(t, "courier01@device", other, `{"event":"deliver","recipient":"proxy","proof":{"recipient_name":"Trần Văn Bình"}}`, "delivered")
		if e := h.lastCustody(t, other); e["proof"].(map[string]any)["identity_method"] != "none" {
			t.Fatalf("a delivery without identity check is recorded as %v", e["proof"])
		}
	})
}
