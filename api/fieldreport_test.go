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

	"courierd/domain"
	"courierd/domain/fieldsync"
)

// taskOfKind is the id of the dossier's stop of kind.
func taskOfKind(h *harness, t testing.TB, id, kind string) string {
	t.Helper()
	for _, task := range h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["tasks"].([]any) {
		if m := task.(map[string]any); m["kind"] == kind {
			return m["id"].(string)
		}
	}
	t.Fatalf("no %s stop", kind)
	return ""
}

func (h *harness) holder(t testing.TB, id string) string {
	t.Helper()
	hd := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["holder"].(map[string]any)
	return hd["kind"].(string) + ":" + hd["id"].(string)
}

// TestFieldJourneyThroughPush: every leg a courier walks is reported from the device — the
// pickup with its checklist and cash, a note, postage by QR, the handover at the post
// office, the result collected at the agency and handed in — and each is kept whole with
// the dossier, money in the courier's ledger, and a retry changes nothing.
func TestFieldJourneyThroughPush(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id := h.assigned(t, "courier01")
	courier, office := h.courierOf("courier01"), h.demo.PostOffices[0].ID.String()
	pickup := taskOfKind(h, t, id, "pickup")
	at := time.Now().Add(-time.Hour)
	day := at.In(domain.Vietnam).Format(time.DateOnly)

	pick := `{"seq":1,"id":"` + uuid.NewString() + `","type":"task.pickup.v1","task_id":"` + pickup + `","task_version":2,` +
		`"occurred_at":"` + at.UTC().Format(time.RFC3339) + `","gps":{"lat":10.9732,"lon":106.6889,"accuracy_m":9},` +
		`"payload":{"documents_checked":["Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp theo mẫu","Căn cước của người yêu cầu"],"fee_collected_vnd":115000,` +
		`"signature_sha256":"` + digitHash(1) + `","photo_sha256":"` + digitHash(2) + `"}}`
	note := mutationAt(2, uuid.NewString(), "task.note.v1", pickup, `{"text":"Cổng xanh, gọi trước khi đến"}`, at)
	postage := mutationAt(3, uuid.NewString(), "task.collect_fee.v1", pickup, `{"amount_vnd":20000,"method":"qr","receipt_number":"BL-0042"}`, at)
	handIn := mutationAt(4, uuid.NewString(), "task.handover_post_office.v1", pickup, `{"received_by":"Nguyễn Văn Quầy","signature_sha256":"`+digitHash(3)+`"}`, at)
	if r := h.push(t, "courier01", pick, note, postage, handIn); statuses(r) != "applied applied applied applied" {
		t.Fatalf("the pickup leg: %s", r.raw)
	}
	if got := h.holder(t, id); got != "post_office:"+office {
		t.Fatalf("after the handover at the counter the post office holds it, not %s", got)
	}
	// The answer was lost: the whole batch again changes nothing.
	if r := h.push(t, "courier01", pick, note, postage, handIn); statuses(r) != "duplicate duplicate duplicate duplicate" {
		t.Fatalf("replay: %s", r.raw)
	}
	// Handing in again what the counter already has is refused and kept for a dispatcher.
	if r := h.push(t, "courier01", mutationAt(5, uuid.NewString(), "task.handover_post_office.v1", pickup, `{}`, at)); statuses(r) != "rejected:NOT_IN_BAG" {
		t.Fatalf("a second handover: %s", r.raw)
	}

	h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency"}`, "handed_to_agency")
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	d := &device{}
	h.drain(t, "courier01", d)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_collection","courier_id":"`+courier+`"}`, "in_processing")
	collection := taskOfKind(h, t, id, "collection")
	h.drain(t, "courier01", d)
	agency := h.agency("Sở Tư pháp")
	if stop := d.tasks[collection]; stop == nil || stop["kind"] != "collection" || stop["agency_name"] != agency.Name || stop["address"] != agency.Address {
		t.Fatalf("the collection stop did not reach the courier's device at the agency's desk: %v", d.tasks[collection])
	}
	// A new handheld's snapshot shows the same place.
	fresh := &device{cursor: "forged"}
	h.pull(t, "courier01", fresh, 50)
	if fresh.tasks[collection]["agency_name"] != agency.Name {
		t.Fatalf("snapshot: %v", fresh.tasks[collection])
	}
	collect := mutationAt(6, uuid.NewString(), "task.collect_result.v1", collection, `{"clerk_name":"Lê Thị Văn Thư"}`, at)
	if r := h.push(t, "courier01", collect); statuses(r) != "rejected:INVALID_TRANSITION" {
		t.Fatalf("collecting a result not ready yet: %s", r.raw)
	}
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	collect = mutationAt(7, uuid.NewString(), "task.collect_result.v1", collection, `{"clerk_name":"Lê Thị Văn Thư","signature_sha256":"`+digitHash(4)+`"}`, at)
	if r := h.push(t, "courier01", collect); statuses(r) != "applied" {
		t.Fatalf("collecting the result: %s", r.raw)
	}
	if got := h.holder(t, id); got != "courier:"+courier {
		t.Fatalf("a result the courier collected is in their bag, not with %s", got)
	}
	if r := h.push(t, "courier01", mutationAt(8, uuid.NewString(), "task.handover_post_office.v1", collection, `{}`, at)); statuses(r) != "applied" {
		t.Fatalf("handing the result in: %s", r.raw)
	}
	if got, state := h.holder(t, id), h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["state"]; got != "post_office:"+office || state != "result_at_post_office" {
		t.Fatalf("after handing the result in: %s, %v", got, state)
	}

	// Out for delivery with the same courier: a proxy's ID card number sent whole is refused
	// (and kept, masked); with its last four digits and the authorisation letter the result
	// is delivered.
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
	delivery := taskOfKind(h, t, id, "delivery")
	bare := mutationAt(9, uuid.NewString(), "task.deliver.v1", delivery,
		`{"recipient":"proxy","recipient_name":"Trần Văn Bình","identity_method":"citizen_id","citizen_id_last4":"074190004821"}`, at)
	full := mutationAt(10, uuid.NewString(), "task.deliver.v1", delivery, `{"recipient":"proxy","recipient_name":"Trần Văn Bình",
		"identity_method":"authorisation_letter","citizen_id_last4":"4821","authorisation_sha256":"`+digitHash(5)+`",
		"signature_sha256":"`+digitHash(6)+`","photo_sha256":"`+digitHash(7)+`"}`, at)
	if r := h.push(t, "courier01", bare, full); statuses(r) != "rejected:VALIDATION_FAILED applied" {
		t.Fatalf("deliveries to a proxy: %s", r.raw)
	}
	if got, state := h.holder(t, id), h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["state"]; got != "applicant:"+id || state != "delivered" {
		t.Fatalf("after the delivery: %s, %v", got, state)
	}

	t.Run("the dossier keeps every report whole", func(t *testing.T) {
		r := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+id+"/field-reports", "")
		var body struct {
			Items []struct {
				Type        string          `json:"type"`
				TaskVersion int             `json:"task_version"`
				Payload     json.RawMessage `json:"payload"`
				Point       *struct{ Lat, Lon float64 }
			} `json:"items"`
		}
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &body) != nil {
			t.Fatalf("field reports: %d %s", r.status, r.raw)
		}
		var types []string
		for _, it := range body.Items {
			types = append(types, it.Type)
		}
		want := []string{"task.pickup.v1", "task.note.v1", "task.collect_fee.v1", "task.handover_post_office.v1",
			"task.collect_result.v1", "task.handover_post_office.v1", "task.deliver.v1"}
		if !slices.Equal(types, want) {
			t.Fatalf("reports %v, want %v (applied ones, once each)", types, want)
		}
		first := body.Items[0]
		if first.TaskVersion != 2 || !strings.Contains(string(first.Payload), "Căn cước của người yêu cầu") || first.Point == nil || first.Point.Lat != 10.9732 {
			t.Fatalf("the pickup report lost something: %+v %s", first, first.Payload)
		}
		if !strings.Contains(string(body.Items[1].Payload), "Cổng xanh") {
			t.Fatalf("the note: %s", body.Items[1].Payload)
		}
		if last := string(body.Items[6].Payload); !strings.Contains(last, `"citizen_id_last4":"****"`) || !strings.Contains(last, digitHash(5)) {
			t.Fatalf("the delivery's identity check: %s", last)
		}
		wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, "/v1/dossiers/"+id+"/field-reports", ""), http.StatusNotFound, "NOT_FOUND")
	})

	t.Run("proof hashes come back exactly as sent", func(t *testing.T) {
		reports := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+id+"/field-reports", "").raw
		custody := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody", "").raw
		for i := 1; i <= 7; i++ {
			if !strings.Contains(reports, digitHash(i)) {
				t.Errorf("field reports lost hash %d, %s: %s", i, digitHash(i), reports)
			}
		}
		// The ledger holds the proofs of the handovers: signatures, and the pickup's photo.
		for _, i := range []int{1, 2, 3, 4, 6, 7} {
			if !strings.Contains(custody, digitHash(i)) {
				t.Errorf("the custody ledger lost hash %d, %s: %s", i, digitHash(i), custody)
			}
		}
	})

	t.Run("money taken is in the courier's ledger once", func(t *testing.T) {
		for _, as := range []string{"dispatcher", "courier01"} {
			r := h.as(as).do(t, http.MethodGet, "/v1/couriers/"+courier+"/cash?date="+day, "")
			methods, _ := r.body["by_method"].(map[string]any)
			if r.status != http.StatusOK || r.body["total_vnd"] != float64(135000) || methods["cash"] != float64(115000) ||
				methods["qr"] != float64(20000) || len(r.body["items"].([]any)) != 2 {
				t.Fatalf("cash as %s: %d %s", as, r.status, r.raw)
			}
			// The day's reconciliation: the cash to hand in, what the pickup was due, and the
			// shortfall when less was recorded than was due.
			d := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body
			due := d["due_vnd"].(float64)
			short := r.body["short"].([]any)
			if r.body["to_hand_in_vnd"] != float64(115000) || r.body["due_vnd"] != due || due == 0 || (due > 135000) != (len(short) == 1) {
				t.Fatalf("reconciliation as %s (due %v): %s", as, due, r.raw)
			}
		}
		other := at.AddDate(0, 0, -1).In(domain.Vietnam).Format(time.DateOnly)
		if r := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+courier+"/cash?date="+other, ""); r.body["total_vnd"] != float64(0) {
			t.Fatalf("the day before: %s", r.raw)
		}
		wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, "/v1/couriers/"+courier+"/cash", ""), http.StatusNotFound, "NOT_FOUND")
		wantProblem(t, h.as("courier02").do(t, http.MethodGet, "/v1/couriers/"+courier+"/cash", ""), http.StatusNotFound, "NOT_FOUND")
		wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+courier+"/cash?date=23/11/2026", ""),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "date")
	})
}

// TestFieldMoneyAndNotesRules: money taken on a stop that is no longer the courier's is
// kept for a dispatcher (the cash exists), a note there is only refused, and bad amounts
// and methods are coded rejections that never block the queue.
func TestFieldMoneyAndNotesRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	reassigned := h.assigned(t, "courier01")
	h.mustEvent(t, "dispatcher", reassigned, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier02")+`"}`, "assigned")
	cancelled := h.assigned(t, "courier01")
	h.mustEvent(t, "dispatcher", cancelled, `{"event":"cancel"}`, "cancelled")
	mine := pickupTask(h, t, h.assigned(t, "courier01"))

	r := h.push(t, "courier01",
		mutation(1, uuid.NewString(), "task.collect_fee.v1", pickupTask(h, t, cancelled), `{"amount_vnd":50000,"method":"cash"}`),
		mutation(2, uuid.NewString(), "task.collect_fee.v1", pickupTask(h, t, reassigned), `{"amount_vnd":50000,"method":"cash"}`),
		mutation(3, uuid.NewString(), "task.note.v1", pickupTask(h, t, reassigned), `{"text":"đã gọi, không nghe máy"}`),
		mutation(4, uuid.NewString(), "task.collect_fee.v1", mine, `{"amount_vnd":0,"method":"cash"}`),
		mutation(5, uuid.NewString(), "task.collect_fee.v1", mine, `{"amount_vnd":5000,"method":"gold"}`),
		mutation(6, uuid.NewString(), "task.note.v1", mine, `{"text":""}`),
		mutation(7, uuid.NewString(), "task.note.v1", mine, `{"text":"hẹn 14 giờ"}`),
		mutation(8, uuid.NewString(), "task.handover_post_office.v1", mine, `{}`),
		// A whole ID number where only its last four digits belong: refused, never stored.
		mutation(9, uuid.NewString(), "task.deliver.v1", mine, `{"recipient":"applicant","identity_method":"citizen_id","citizen_id_last4":"074190001234"}`))
	want := "rejected:TASK_CANCELLED rejected:TASK_REASSIGNED rejected:TASK_REASSIGNED rejected:VALIDATION_FAILED " +
		"rejected:VALIDATION_FAILED rejected:VALIDATION_FAILED applied rejected:NOT_IN_BAG rejected:VALIDATION_FAILED"
	if got := statuses(r); got != want || r.body["last_seq"] != float64(9) {
		t.Fatalf("push: %s\nwant %s", r.raw, want)
	}
	q := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false", "")
	var kept []string
	for _, it := range q.body["items"].([]any) {
		m := it.(map[string]any)
		kept = append(kept, fmt.Sprint(m["type"], ":", m["code"]))
	}
	if strings.Contains(q.raw, "074190001234") || !strings.Contains(q.raw, `"citizen_id_last4":"************"`) {
		t.Fatalf("the quarantine keeps a whole ID number: %s", q.raw)
	}
	slices.Sort(kept)
	wantKept := []string{"task.collect_fee.v1:TASK_CANCELLED", "task.collect_fee.v1:TASK_REASSIGNED",
		"task.collect_fee.v1:VALIDATION_FAILED", "task.collect_fee.v1:VALIDATION_FAILED", "task.deliver.v1:VALIDATION_FAILED",
		"task.handover_post_office.v1:NOT_IN_BAG"}
	if !slices.Equal(kept, wantKept) {
		t.Fatalf("quarantined %v, want %v: money and handovers are facts, even malformed; a note is not", kept, wantKept)
	}
	if c := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier01")+"/cash", ""); c.body["total_vnd"] != float64(0) {
		t.Fatalf("refused money reached the ledger: %s", c.raw)
	}
}

// digitHash is the i-th test proof hash: a SHA-256's shape with a run of digits as long
// as an ID card number inside, which no masking may touch.
func digitHash(i int) string {
	return fmt.Sprintf("6bd0002f6ff6fbb5b%012d", i) + strings.Repeat("e5", 18)[:35]
}

// TestQuarantineKeepsFieldsAsDeclared: a payload of every type in the contract, filled from
// its schema (hashes full of digits, ID numbers in every text field, door secrets), is
// quarantined and comes back with each hash exactly as sent and no whole ID number.
func TestQuarantineKeepsFieldsAsDeclared(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	schemas, err := payloadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	const idNumber = "074190001234"
	cancelled := h.assigned(t, "courier01")
	h.mustEvent(t, "dispatcher", cancelled, `{"event":"cancel"}`, "cancelled")
	task := pickupTask(h, t, cancelled)
	hashes := map[string]map[string]string{} // mutation id → hash field → hash
	var batch []string
	for _, typ := range fieldsync.MutationTypes() {
		payload, sent := map[string]any{}, map[string]string{}
		for name, prop := range schemas[typ].Properties {
			s := prop.Value
			switch {
			case s.Pattern == "^[0-9a-f]{64}$":
				payload[name] = digitHash(len(batch)*10 + len(sent))
				sent[name] = payload[name].(string)
			case len(s.Enum) > 0:
				payload[name] = s.Enum[0]
			case s.Type.Is("integer"):
				payload[name] = 1000
			case s.Type.Is("array"):
				payload[name] = []string{"CCCD " + idNumber}
			default:
				payload[name] = "CCCD " + idNumber
			}
		}
		body, _ := json.Marshal(payload)
		mutationID := uuid.NewString()
		hashes[mutationID] = sent
		batch = append(batch, mutation(len(batch)+1, mutationID, typ, task, string(body)))
	}
	h.push(t, "courier01", batch...)
	q := h.as("dispatcher").do(t, http.MethodGet, "/v1/quarantine?resolved=false&limit=100", "")
	if strings.Contains(q.raw, idNumber) {
		t.Fatalf("the quarantine keeps a whole ID number: %s", q.raw)
	}
	checked := 0
	for _, it := range q.body["items"].([]any) {
		item := it.(map[string]any)
		payload := item["payload"].(map[string]any)
		for name, hash := range hashes[item["mutation_id"].(string)] {
			checked++
			if payload[name] != hash {
				t.Errorf("%s %s kept as %v, sent %s", item["type"], name, payload[name], hash)
			}
		}
	}
	if want := 9; checked != want { // every hash field of the five types that carry proof
		t.Fatalf("checked %d hashes in the quarantine, want %d: %s", checked, want, q.raw)
	}
}

// TestEveryMutationTypeHasASchema: the types the server applies and the contract's
// payload schemas are the same set, so a device team never meets an undocumented type.
func TestEveryMutationTypeHasASchema(t *testing.T) {
	schemas, err := payloadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for name := range schemas {
		documented = append(documented, name)
	}
	slices.Sort(documented)
	if served := fieldsync.MutationTypes(); !slices.Equal(served, documented) {
		t.Fatalf("the server applies %v; mobile-contract/schemas documents %v", served, documented)
	}
}
