package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/dossier"
	"courierd/domain/payment"
)

// citizenLogin logs the applicant of receipt in with a one-time code sent to phone.
func (h *harness) citizenLogin(t testing.TB, receipt, phone string) client {
	t.Helper()
	asked := h.as("").requestCode(t, receipt, phone)
	r := h.as("").verify(t, asked.body["challenge_id"].(string), h.lastCode(t))
	if r.status != http.StatusOK {
		t.Fatalf("citizen login: %d %s", r.status, r.raw)
	}
	return h.as("").bearer(r.body["access_token"].(string))
}

// resultAtPostOffice opens a dossier lodged at the agency's desk and walks it until its
// result waits at the post office, returning its id and receipt code.
func (h *harness) resultAtPostOffice(t testing.TB) (string, string) {
	t.Helper()
	d := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["pickup"] = "false" })).body
	id := d["id"].(string)
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	h.mustEvent(t, "clerk", id, `{"event":"collect_result"}`, "result_at_post_office")
	return id, d["receipt_code"].(string)
}

// lastCustody is the newest entry of a dossier's custody ledger.
func (h *harness) lastCustody(t testing.TB, id string) map[string]any {
	t.Helper()
	items := h.do(t, http.MethodGet, "/v1/dossiers/"+id+"/custody", "").body["items"].([]any)
	return items[len(items)-1].(map[string]any)
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

// signedProof and proxyProof are a delivery's proof as the catalog's default asks: the
// recipient's signature, and a photo of the handover when a proxy receives.
var (
	signedProof = `{"signature_sha256":"` + strings.Repeat("ab", 32) + `"}`
	proxyProof  = `{"recipient_name":"Trần Văn Bình","signature_sha256":"` + strings.Repeat("ab", 32) + `","photo_sha256":"` + strings.Repeat("ef", 32) + `"}`
)

// TestHandoverCodeAtTheDoor: a delivery is accepted only with this trip's code (shown to
// the applicant alone), the applicant's ID digits, or a proxy's letter; a wrong, old,
// expired or much-guessed code is refused, and the ledger records how identity was proved.
func TestHandoverCodeAtTheDoor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id, receipt := h.resultAtPostOffice(t)
	applicant := h.citizenLogin(t, receipt, "0913456789")
	courier := h.courierOf("courier01")
	handover := func() reply { return applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/handover", "") }
	deliver := func(door string) reply {
		return h.event(t, "courier01@device", id, `{"event":"deliver","recipient":"applicant","proof":`+signedProof+strings.TrimSuffix(","+door, ",")+`}`)
	}

	wantProblem(t, handover(), http.StatusNotFound, "NOT_FOUND") // nothing on its way yet
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
	first := handover()
	code, _ := first.body["code"].(string)
	if first.status != http.StatusOK || !sixDigits.MatchString(code) || first.body["expires_at"] == nil ||
		first.body["qr"] != "BCCI-HO:"+strings.ReplaceAll(receipt, "-", "")+":"+code {
		t.Fatalf("the applicant's code: %d %s", first.status, first.raw)
	}
	// Only the applicant reads it: staff tokens are not citizens' tokens, and the staff
	// view of the dossier does not carry it.
	if r := h.as("dispatcher").do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/handover", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("a dispatcher read the door code: %d", r.status)
	}
	if staffView := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").raw; strings.Contains(staffView, code) {
		t.Fatal("the staff view shows the door code")
	}

	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	wantProblem(t, deliver(""), http.StatusUnprocessableEntity, "PROOF_MISSING", "handover_code")
	wantProblem(t, deliver(`"citizen_id_last4":"9999"`), http.StatusUnprocessableEntity, "IDENTITY_MISMATCH")
	wantProblem(t, deliver(`"handover_code":"`+wrong+`"`), http.StatusUnprocessableEntity, "HANDOVER_CODE_WRONG")
	wantProblem(t, deliver(`"citizen_id_last4":"074190001234"`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "citizen_id_last4")

	// The day passes: the right code has expired.
	if err := h.db.SQL().QueryRowContext(context.Background(), `UPDATE dossiers SET handover_expires_at = now() - interval '1 minute'
		WHERE id = $1 RETURNING id`, id).Err(); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, deliver(`"handover_code":"`+code+`"`), http.StatusUnprocessableEntity, "HANDOVER_CODE_EXPIRED")
	// A device's clock from before the trip began cannot revive it.
	old := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	wantProblem(t, deliver(`"device_time":"`+old+`","handover_code":"`+code+`"`), http.StatusUnprocessableEntity, "HANDOVER_CODE_EXPIRED")
	if _, err := h.db.SQL().ExecContext(context.Background(), `UPDATE dossiers SET handover_expires_at = now() + interval '1 hour' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	// The same wrong code sent again (a retry after a lost answer) counts once; five
	// misses (wrong codes or ID digits) lock the trip, even against the right code.
	for range 3 {
		wantProblem(t, deliver(`"handover_code":"`+wrong+`"`), http.StatusUnprocessableEntity, "HANDOVER_CODE_WRONG")
	}
	var failures int
	if err := h.db.SQL().QueryRowContext(context.Background(), `SELECT handover_failures FROM dossiers WHERE id = $1`, id).Scan(&failures); err != nil || failures != 2 {
		t.Fatalf("wrong ID digits once and one wrong code four times counted %d misses, want 2 (%v)", failures, err)
	}
	for i := 2; i <= 4; i++ {
		guess := fmt.Sprintf("%06d", (atoi(code)+i)%1_000_000)
		wantProblem(t, deliver(`"handover_code":"`+guess+`"`), http.StatusUnprocessableEntity, "HANDOVER_CODE_WRONG")
	}
	wantProblem(t, deliver(`"handover_code":"`+code+`"`), http.StatusConflict, "HANDOVER_CODE_LOCKED")
	wantProblem(t, deliver(`"citizen_id_last4":"1234"`), http.StatusConflict, "HANDOVER_CODE_LOCKED")
	// The courier never sees the ID number's last digits the door check asks for.
	if view := h.as("courier01@device").do(t, http.MethodGet, "/v1/dossiers/"+id, ""); view.status != http.StatusOK ||
		view.body["applicant"].(map[string]any)["citizen_id"] != "*********" {
		t.Fatalf("the courier's view: %d %s", view.status, view.raw)
	}

	// Nobody home: the trip ends and its code dies; the next trip has its own.
	h.mustEvent(t, "courier01@device", id, `{"event":"delivery_fail","reason":"not_at_home"}`, "delivery_failed")
	wantProblem(t, handover(), http.StatusNotFound, "NOT_FOUND")
	h.mustEvent(t, "dispatcher", id, `{"event":"schedule_redelivery","date":"`+h.bookable(t)[2]+`"}`, "redelivery_scheduled")
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
	second := handover().body["code"].(string)
	if second != code {
		wantProblem(t, deliver(`"handover_code":"`+code+`"`), http.StatusUnprocessableEntity, "HANDOVER_CODE_WRONG")
	}
	h.mustEvent(t, "courier01@device", id, `{"event":"deliver","recipient":"applicant","proof":`+signedProof+`,"handover_code":"`+second+`"}`, "delivered")
	if e := h.lastCustody(t, id); e["event"] != "deliver" || e["proof"].(map[string]any)["identity_method"] != dossier.IdentityHandoverCode {
		t.Fatalf("the ledger's delivery: %v", e)
	}
	wantProblem(t, handover(), http.StatusNotFound, "NOT_FOUND")

	t.Run("an ID card, or a proxy's letter, instead of the code", func(t *testing.T) {
		for _, c := range []struct{ door, method string }{
			{`"recipient":"applicant","proof":` + signedProof + `,"citizen_id_last4":"1234"`, dossier.IdentityCitizenID},
			{`"recipient":"proxy","proof":` + proxyProof + `,"authorisation_sha256":"` + strings.Repeat("cd", 32) + `"`, dossier.IdentityAuthorisation},
		} {
			other, _ := h.resultAtPostOffice(t)
			h.mustEvent(t, "dispatcher", other, `{"event":"dispatch_delivery","courier_id":"`+courier+`"}`, "out_for_delivery")
			if c.method == dossier.IdentityAuthorisation {
				wantProblem(t, h.event(t, "courier01@device", other, `{"event":"deliver","recipient":"proxy","proof":`+proxyProof+`}`),
					http.StatusUnprocessableEntity, "PROOF_MISSING", "authorisation_sha256")
			}
			h.mustEvent(t, "courier01@device", other, `{"event":"deliver",`+c.door+`}`, "delivered")
			if e := h.lastCustody(t, other); e["proof"].(map[string]any)["identity_method"] != c.method {
				t.Fatalf("identity recorded as %v, want %s", e["proof"], c.method)
			}
		}
	})

	t.Run("the applicant rates the service once they have the result", func(t *testing.T) {
		wantProblem(t, applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+id+"/rating", `{"stars":6}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "stars")
		r := applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+id+"/rating", `{"stars":4,"comment":"Bưu tá đến đúng giờ"}`)
		if r.status != http.StatusOK || r.body["stars"] != float64(4) {
			t.Fatalf("rating: %d %s", r.status, r.raw)
		}
		r = applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+id+"/rating", `{"stars":5}`)
		var stars int
		if err := h.db.SQL().QueryRowContext(context.Background(), `SELECT stars FROM dossier_ratings WHERE dossier_id = $1`, id).Scan(&stars); err != nil || stars != 5 || r.status != http.StatusOK {
			t.Fatalf("a second rating replaces the first: %d stars, %v", stars, err)
		}
		pending := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
		wantProblem(t, applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+pending+"/rating", `{"stars":5}`), http.StatusConflict, "NOT_RATABLE")
	})
}

// slotOffer finds the nth (from 0) offered slot starting at start, with its date.
func slotOffer(t testing.TB, offers reply, start string, nth int) map[string]any {
	t.Helper()
	for _, o := range offers.body["slots"].([]any) {
		if m := o.(map[string]any); m["start"] == start {
			if nth == 0 {
				return m
			}
			nth--
		}
	}
	t.Fatalf("too few %s slots offered: %s", start, offers.raw)
	return nil
}

func booking(date, start, end string) string {
	return fmt.Sprintf(`{"date":%q,"slot":{"start":%q,"end":%q}}`, date, start, end)
}

// TestApplicantBooksPickupSlots: a post office offers slots with a capacity; applicants
// book, move and cancel their pickup in them until the courier sets out; a full slot
// refuses, and a moved booking frees its place.
func TestApplicantBooksPickupSlots(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office := h.demo.PostOffices[0].ID.String()
	slots := "/v1/post-offices/" + office + "/slots"
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPut, slots, `{"slots":[{"start":"08:00","end":"10:00","capacity":1},{"start":"09:30","end":"11:00","capacity":1}]}`),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED", "slots[1]")
	wantProblem(t, h.as("courier01").do(t, http.MethodPut, slots, `{"slots":[]}`), http.StatusForbidden, "FORBIDDEN")
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodPut, slots, `{"slots":[]}`), http.StatusNotFound, "NOT_FOUND")
	set := h.as("dispatcher").do(t, http.MethodPut, slots, `{"slots":[{"start":"08:00","end":"10:00","capacity":1},{"start":"14:00","end":"16:00","capacity":5}]}`)
	if got := h.as("dispatcher").do(t, http.MethodGet, slots, ""); set.status != http.StatusOK || len(got.body["slots"].([]any)) != 2 {
		t.Fatalf("slots: %d %s / %s", set.status, set.raw, got.raw)
	}

	first := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	second := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	third := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	applicant := h.citizenLogin(t, first["receipt_code"].(string), "0913456789")
	a, b, c := first["id"].(string), second["id"].(string), third["id"].(string)
	pickup := func(id, body string) reply {
		return applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+id+"/pickup", body)
	}

	offers := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+a+"/slots", "")
	morning := slotOffer(t, offers, "08:00", 0)
	day := morning["date"].(string)
	if morning["remaining"] != float64(1) || morning["full"] != false || morning["end"] != "10:00" {
		t.Fatalf("the morning slot: %v", morning)
	}
	r := pickup(a, booking(day, "08:00", "10:00"))
	visits, _ := r.body["visits"].([]any)
	if r.status != http.StatusOK || r.body["state"] != "scheduled" || len(visits) != 2 ||
		visits[0].(map[string]any)["date"] != day || visits[0].(map[string]any)["slot"].(map[string]any)["start"] != "08:00" {
		t.Fatalf("booked: %d %s", r.status, r.raw)
	}
	for _, o := range applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+a+"/slots", "").body["slots"].([]any) {
		if m := o.(map[string]any); m["date"] == day && m["start"] == "08:00" && (m["full"] != true || m["remaining"] != float64(0)) {
			t.Fatalf("the booked slot still shows room: %v", m)
		}
	}
	wantProblem(t, pickup(b, booking(day, "08:00", "10:00")), http.StatusConflict, "SLOT_FULL")
	wantProblem(t, pickup(b, booking(day, "09:00", "11:00")), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "slot")
	wantProblem(t, pickup(b, `{"date":"`+day+`"}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "slot")
	farOff := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	wantProblem(t, pickup(b, booking(farOff, "14:00", "16:00")), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "date")
	// Moving the first booking frees its place.
	if r := pickup(a, booking(day, "14:00", "16:00")); r.status != http.StatusOK {
		t.Fatalf("moved: %d %s", r.status, r.raw)
	}
	// With a corrected address and pin.
	moved := `{"date":"` + day + `","slot":{"start":"08:00","end":"10:00"},"address":{"text":"số 40, đường Yersin, phường Phú Cường","admin_unit_code":"25747","location":{"lat":10.98,"lon":106.655}}}`
	if r := pickup(b, moved); r.status != http.StatusOK || r.body["address"] != "số 40, đường Yersin, phường Phú Cường" {
		t.Fatalf("booked the freed slot with a new address: %d %s", r.status, r.raw)
	}
	if staff := h.do(t, http.MethodGet, "/v1/dossiers/"+b, "").body["applicant"].(map[string]any); staff["location"].(map[string]any)["lat"] != 10.98 {
		t.Fatalf("the staff view lacks the new pin: %v", staff)
	}

	// The courier sets out for the first pickup: the applicant can no longer move or cancel it.
	h.mustEvent(t, "dispatcher", a, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	if r := pickup(a, booking(day, "14:00", "16:00")); r.status != http.StatusOK || r.body["state"] != "scheduled" {
		t.Fatalf("before the courier sets out the applicant may still move it: %d %s", r.status, r.raw)
	}
	h.mustEvent(t, "dispatcher", a, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	h.mustEvent(t, "courier01@device", a, `{"event":"set_out"}`, "assigned")
	wantProblem(t, pickup(a, booking(day, "08:00", "10:00")), http.StatusConflict, "COURIER_ON_THE_WAY")
	wantProblem(t, applicant.do(t, http.MethodDelete, "/v1/citizen/dossiers/"+a+"/pickup", ""), http.StatusConflict, "COURIER_ON_THE_WAY")
	if r := applicant.do(t, http.MethodDelete, "/v1/citizen/dossiers/"+c+"/pickup", ""); r.status != http.StatusOK || r.body["state"] != "cancelled" {
		t.Fatalf("cancel before the courier sets out: %d %s", r.status, r.raw)
	}
	// Someone else's dossier is not theirs to book.
	stranger := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["phone"] = "0987000111" })).body["id"].(string)
	wantProblem(t, pickup(stranger, booking(day, "14:00", "16:00")), http.StatusNotFound, "NOT_FOUND")
}

// TestApplicantChoosesDelivery: for a result the agency still works on, the applicant asks
// for home delivery (the post takes on the return) in a slot, then changes to the counter,
// which frees the slot and holds the result as it reaches the post office; once the
// courier is on the way nothing can be changed.
func TestApplicantChoosesDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office := h.demo.PostOffices[0].ID.String()
	h.as("dispatcher").do(t, http.MethodPut, "/v1/post-offices/"+office+"/slots", `{"slots":[{"start":"14:00","end":"16:00","capacity":1}]}`)
	// Picked up at home, to be fetched at the agency's desk: until the applicant asks.
	created := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["return"] = "false" })).body
	id := created["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", id, `{"event":"pick_up"}`, "picked_up")
	h.mustEvent(t, "dispatcher", id, `{"event":"hand_to_agency"}`, "handed_to_agency")
	applicant := h.citizenLogin(t, created["receipt_code"].(string), "0913456789")
	choose := func(id, body string) reply {
		return applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+id+"/delivery", body)
	}
	offers := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/slots", "")
	day, later := slotOffer(t, offers, "14:00", 0)["date"].(string), slotOffer(t, offers, "14:00", 1)["date"].(string)

	wantProblem(t, choose(id, `{"choice":"drone"}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "choice")
	r := choose(id, `{"choice":"home","date":"`+day+`","slot":{"start":"14:00","end":"16:00"}}`)
	if r.status != http.StatusOK || r.body["return"] != true || r.body["delivery_choice"] != "home" || r.body["state"] != "handed_to_agency" {
		t.Fatalf("home delivery: %d %s", r.status, r.raw)
	}
	tasks := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["tasks"].([]any)
	if len(tasks) != 4 {
		t.Fatalf("the post takes on the return: %v", tasks)
	}
	other := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["pickup"] = "false" })).body["id"].(string)
	wantProblem(t, choose(other, `{"choice":"home","date":"`+day+`","slot":{"start":"14:00","end":"16:00"}}`), http.StatusConflict, "SLOT_FULL")
	if r := choose(id, `{"choice":"post_office"}`); r.status != http.StatusOK || r.body["delivery_choice"] != "post_office" {
		t.Fatalf("the counter: %d %s", r.status, r.raw)
	}
	if r := choose(other, `{"choice":"home","date":"`+day+`","slot":{"start":"14:00","end":"16:00"}}`); r.status != http.StatusOK {
		t.Fatalf("the freed slot: %d %s", r.status, r.raw)
	}
	// The result reaches the post office: held for the applicant, who is told.
	h.mustEvent(t, "clerk", id, `{"event":"agency_accept"}`, "in_processing")
	h.mustEvent(t, "clerk", id, `{"event":"result_ready"}`, "result_ready")
	held := h.mustEvent(t, "clerk", id, `{"event":"collect_result"}`, "held_at_post_office")
	if held.body["held_until"] == nil {
		t.Fatalf("held without an end: %s", held.raw)
	}
	// Changing their mind from the counter to home asks for a delivery.
	if r := choose(id, `{"choice":"home","date":"`+later+`","slot":{"start":"14:00","end":"16:00"}}`); r.status != http.StatusOK ||
		r.body["state"] != "redelivery_scheduled" || r.body["delivery_choice"] != "home" {
		t.Fatalf("home from the counter: %d %s", r.status, r.raw)
	}

	// Out for delivery: too late to change anything.
	h.mustEvent(t, "clerk", other, `{"event":"agency_accept"}`, "in_processing")
	h.mustEvent(t, "clerk", other, `{"event":"result_ready"}`, "result_ready")
	h.mustEvent(t, "clerk", other, `{"event":"collect_result"}`, "result_at_post_office")
	h.mustEvent(t, "dispatcher", other, `{"event":"dispatch_delivery","courier_id":"`+h.courierOf("courier01")+`"}`, "out_for_delivery")
	wantProblem(t, choose(other, `{"choice":"post_office"}`), http.StatusConflict, "COURIER_ON_THE_WAY")
}

// TestBillAndVietQR: the applicant's bill is the fee, postage and collection surcharge,
// with a VietQR code for exactly that, into the post's account, naming the receipt code;
// the courier's device shows the same code at the pickup.
func TestBillAndVietQR(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	created := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	id, receipt := created["id"].(string), created["receipt_code"].(string)
	applicant := h.citizenLogin(t, receipt, "0913456789")
	bill := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/bill", "")
	due := bill.body["due_vnd"].(float64)
	if bill.status != http.StatusOK || due != bill.body["fee_vnd"].(float64)+bill.body["postage_vnd"].(float64)+bill.body["surcharge_vnd"].(float64) ||
		bill.body["surcharge_vnd"] == float64(0) || bill.body["paid_vnd"] != float64(0) {
		t.Fatalf("bill: %d %s", bill.status, bill.raw)
	}
	transfer, err := payment.Parse(bill.body["vietqr"].(string))
	if err != nil || transfer.AmountVND != int64(due) || transfer.BankBIN != "970415" || transfer.Account != "113366668888" ||
		!strings.Contains(transfer.Reference, strings.ReplaceAll(receipt, "-", "")) {
		t.Fatalf("the VietQR code %+v: %v", transfer, err)
	}

	// The courier's device: the same amount and code on the pickup stop, through the
	// change feed (the device is in sync before the stop is given).
	d := &device{}
	h.drain(t, "courier01", d)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	if h.pull(t, "courier01", d, 50).body["reset"] == true {
		t.Fatal("expected an incremental page")
	}
	var stop map[string]any
	for _, data := range d.tasks {
		if data["dossier_id"] == id {
			stop = data
		}
	}
	if stop == nil || stop["amount_due_vnd"] != due || stop["vietqr"] != bill.body["vietqr"] {
		t.Fatalf("the device's stop: %v", stop)
	}
	// Paid in cash at the door: the bill says so and offers no code to pay again.
	if r := h.push(t, "courier01", mutation(1, uuid.NewString(), "task.collect_fee.v1", stop["task_id"].(string),
		fmt.Sprintf(`{"amount_vnd":%d,"method":"cash"}`, int64(due)))); statuses(r) != "applied" {
		t.Fatalf("cash: %s", r.raw)
	}
	if paid := applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/bill", ""); paid.body["paid_vnd"] != due || paid.body["vietqr"] != "" {
		t.Fatalf("after cash: %s", paid.raw)
	}
}

// TestDoorOverSync: from the handheld, task.start.v1 tells the applicant the courier is on
// the way (and freezes their booking), and task.deliver.v1 is applied only with proof the
// server verifies; a wrong code is refused and kept for a dispatcher.
func TestDoorOverSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	pickupDossier := h.assigned(t, "courier01")
	id, receipt := h.resultAtPostOffice(t)
	h.mustEvent(t, "dispatcher", id, `{"event":"dispatch_delivery","courier_id":"`+h.courierOf("courier01")+`"}`, "out_for_delivery")
	code := h.citizenLogin(t, receipt, "0913456789").do(t, http.MethodGet, "/v1/citizen/dossiers/"+id+"/handover", "").body["code"].(string)
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	delivery := taskOf(h, t, id, "delivery")
	r := h.push(t, "courier01",
		mutation(1, uuid.NewString(), "task.start.v1", pickupTask(h, t, pickupDossier), `{}`),
		mutation(2, uuid.NewString(), "task.start.v1", delivery, `{}`),
		mutation(3, uuid.NewString(), "task.deliver.v1", delivery, `{"recipient":"applicant","identity_method":"handover_code","handover_code":"`+wrong+`","signature_sha256":"`+strings.Repeat("ab", 32)+`"}`),
		mutation(4, uuid.NewString(), "task.deliver.v1", delivery, `{"recipient":"applicant","identity_method":"handover_code","handover_code":"`+code+`","signature_sha256":"`+strings.Repeat("ab", 32)+`"}`))
	// Starting the delivery stop records the courier taking the result at the counter.
	want := "applied applied rejected:HANDOVER_CODE_WRONG applied"
	if got := statuses(r); got != want {
		t.Fatalf("push: %s\nwant %s", r.raw, want)
	}
	for _, task := range h.do(t, http.MethodGet, "/v1/dossiers/"+pickupDossier, "").body["tasks"].([]any) {
		if m := task.(map[string]any); m["kind"] == "pickup" && m["state"] != "in_progress" {
			t.Fatalf("the pickup after set-out: %v", m)
		}
	}
	if e := h.lastCustody(t, id); e["proof"].(map[string]any)["identity_method"] != dossier.IdentityHandoverCode {
		t.Fatalf("ledger: %v", e)
	}
	entries, intact := h.custodyOf(t, id)
	if taken := entries[len(entries)-2]; !intact || taken["event"] != "hand_to_courier" || party(taken["to"]) != "courier:"+h.courierOf("courier01") {
		t.Fatalf("the courier's taking the result is recorded before the delivery: %v", entries)
	}
}

// taskOf is the id of a dossier's task of kind.
func taskOf(h *harness, t testing.TB, id, kind string) string {
	t.Helper()
	for _, task := range h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["tasks"].([]any) {
		if m := task.(map[string]any); m["kind"] == kind {
			return m["id"].(string)
		}
	}
	t.Fatalf("dossier %s has no %s task", id, kind)
	return ""
}

// TestMessagingPreferences: an applicant picks their channel, which the notices carry, or
// opts out, after which nothing is sent (their page still tells all).
func TestMessagingPreferences(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	created := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	id := uuid.MustParse(created["id"].(string))
	applicant := h.citizenLogin(t, created["receipt_code"].(string), "0913456789")
	if r := applicant.do(t, http.MethodGet, "/v1/citizen/preferences", ""); r.body["channel"] != "any" || r.body["opted_out"] != false {
		t.Fatalf("default: %s", r.raw)
	}
	wantProblem(t, applicant.do(t, http.MethodPut, "/v1/citizen/preferences", `{"channel":"fax"}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "channel")
	notices := func() int { return strings.Count(h.log.String(), `"msg":"notice to applicant"`) }
	send := func() {
		if err := h.dossiers.NotifyApplicant(context.Background(), id, dossier.NoticeResultReady, "1"); err != nil {
			t.Fatal(err)
		}
	}
	if r := applicant.do(t, http.MethodPut, "/v1/citizen/preferences", `{"channel":"sms"}`); r.status != http.StatusOK || r.body["channel"] != "sms" {
		t.Fatalf("sms: %d %s", r.status, r.raw)
	}
	before := notices()
	send()
	if notices() != before+1 || !strings.Contains(h.log.String(), `"prefer":"sms"`) {
		t.Fatal("the notice did not go out by the chosen channel")
	}
	applicant.do(t, http.MethodPut, "/v1/citizen/preferences", `{"channel":"any","opted_out":true}`)
	send()
	if notices() != before+1 {
		t.Fatal("a notice went to an applicant who opted out")
	}
	if logs := h.log.String(); strings.Contains(logs, "0913456789") {
		t.Fatal("the phone reached the log")
	}
}

// TestSlotCapacityUnderConcurrentBookings: thirty applicants book a ten-place slot at the
// same moment; exactly ten get it and the rest are told it is full.
func TestSlotCapacityUnderConcurrentBookings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	office := h.demo.PostOffices[0].ID.String()
	h.as("dispatcher").do(t, http.MethodPut, "/v1/post-offices/"+office+"/slots", `{"slots":[{"start":"14:00","end":"16:00","capacity":10}]}`)
	var ids []string
	var receipt string
	for range 30 {
		d := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
		ids, receipt = append(ids, d["id"].(string)), d["receipt_code"].(string)
	}
	applicant := h.citizenLogin(t, receipt, "0913456789")
	day := slotOffer(t, applicant.do(t, http.MethodGet, "/v1/citizen/dossiers/"+ids[0]+"/slots", ""), "14:00", 0)["date"].(string)
	statuses := make(chan int, len(ids))
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- applicant.do(t, http.MethodPut, "/v1/citizen/dossiers/"+id+"/pickup", booking(day, "14:00", "16:00")).status
		}()
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if got[http.StatusOK] != 10 || got[http.StatusConflict] != 20 {
		t.Fatalf("answers by status: %v, want 10 × 200 and 20 × 409", got)
	}
}
