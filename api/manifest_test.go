package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// atPostOffice walks a new pickup dossier to the post office's shelf and returns its id.
func (h *harness) atPostOffice(t testing.TB) string {
	t.Helper()
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	h.mustEvent(t, "courier01@device", id, `{"event":"pick_up"}`, "picked_up")
	h.mustEvent(t, "dispatcher", id, `{"event":"arrive_post_office"}`, "at_post_office")
	return id
}

func TestManifestToAgency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	first, second, third := h.atPostOffice(t), h.atPostOffice(t), h.atPostOffice(t)
	office, agency := h.demo.PostOffices[0].ID.String(), h.agency("Sở Tư pháp").ID.String()
	body := func(ids ...string) string {
		return `{"direction":"to_agency","post_office_id":"` + office + `","agency_id":"` + agency + `","seal_number":"TDM-0042","dossier_ids":["` +
			strings.Join(ids, `","`) + `"]}`
	}
	fresh := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, "/v1/manifests", body(first, fresh)), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "dossier_ids[1]")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, "/v1/manifests", body(first, first)), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "dossier_ids[1]")
	wantProblem(t, h.as("clerk").do(t, http.MethodPost, "/v1/manifests", body(first)), http.StatusForbidden, "FORBIDDEN")
	// Another office's dispatcher learns nothing of these dossiers, not even their codes.
	other := strings.NewReplacer(office, h.demo.PostOffices[1].ID.String()).Replace(body(first))
	leak := h.as("dispatcher2").do(t, http.MethodPost, "/v1/manifests", other)
	wantProblem(t, leak, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "dossier_ids[0]")
	if receipt := h.do(t, http.MethodGet, "/v1/dossiers/"+first, "").body["receipt_code"].(string); strings.Contains(leak.raw, receipt) ||
		!strings.Contains(leak.raw, "names no dossier") {
		t.Fatalf("a refusal leaks another office's dossier: %s", leak.raw)
	}

	sent := h.as("dispatcher").do(t, http.MethodPost, "/v1/manifests", body(first, second))
	if sent.status != http.StatusCreated || len(sent.body["items"].([]any)) != 2 {
		t.Fatalf("send: %d %s", sent.status, sent.raw)
	}
	id := sent.body["id"].(string)
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, "/v1/manifests/"+id, ""), http.StatusNotFound, "NOT_FOUND")
	wantProblem(t, h.as("dispatcher").do(t, http.MethodPost, "/v1/manifests/"+id+"/receive", `{"dossier_ids":["`+first+`"]}`), http.StatusForbidden, "FORBIDDEN")

	// The clerk counts the first dossier and one that was not listed; the second is missing.
	got := h.as("clerk").do(t, http.MethodPost, "/v1/manifests/"+id+"/receive", `{"dossier_ids":["`+first+`","`+third+`"],"seal_number":"tdm-0042 ","note":"thiếu 1 hồ sơ"}`)
	if got.status != http.StatusOK || got.body["discrepancies"] != float64(2) || got.body["received_at"] == nil {
		t.Fatalf("receive: %d %s", got.status, got.raw)
	}
	status := map[string]string{}
	for _, it := range got.body["items"].([]any) {
		m := it.(map[string]any)
		status[m["dossier_id"].(string)] = m["status"].(string)
	}
	if status[first] != "received" || status[second] != "missing" || status[third] != "extra" {
		t.Fatalf("items: %v", status)
	}
	state := func(id string) string { return h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["state"].(string) }
	if state(first) != "handed_to_agency" || state(second) != "at_post_office" || state(third) != "at_post_office" {
		t.Fatalf("states after receipt: %s %s %s", state(first), state(second), state(third))
	}
	last := h.do(t, http.MethodGet, "/v1/dossiers/"+first+"/custody", "").body["items"].([]any)
	proof := last[len(last)-1].(map[string]any)["proof"].(map[string]any)
	if proof["manifest_id"] != id || proof["seal_number"] != "tdm-0042" {
		t.Fatalf("the handover does not cite the manifest: %v", proof)
	}
	wantProblem(t, h.as("clerk").do(t, http.MethodPost, "/v1/manifests/"+id+"/receive", `{"dossier_ids":["`+second+`"]}`), http.StatusConflict, "INVALID_TRANSITION")
	if r := h.as("dispatcher").do(t, http.MethodGet, "/v1/manifests?discrepancies=true", ""); r.body["total"] != float64(1) {
		t.Fatalf("discrepancy list: %s", r.raw)
	}
}

func TestCloseDay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	courier := h.courierOf("courier01")
	id := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"assign_pickup","courier_id":"`+courier+`"}`, "assigned")
	h.mustEvent(t, "courier01@device", id, `{"event":"pick_up"}`, "picked_up")
	today := time.Now().Format("2006-01-02")

	r := h.as("courier01").do(t, http.MethodPost, "/v1/couriers/"+courier+"/close-day", `{"date":"`+today+`"}`)
	wantProblem(t, r, http.StatusConflict, "BAG_NOT_EMPTY", "explanations")
	receipt := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["receipt_code"].(string)
	if !strings.Contains(r.raw, receipt) {
		t.Fatalf("the refusal must name what is in the bag: %s", r.raw)
	}
	wantProblem(t, h.as("courier02").do(t, http.MethodPost, "/v1/couriers/"+courier+"/close-day", `{"date":"`+today+`"}`), http.StatusNotFound, "NOT_FOUND")
	ok := h.as("courier01").do(t, http.MethodPost, "/v1/couriers/"+courier+"/close-day",
		`{"date":"`+today+`","explanations":[{"dossier_id":"`+id+`","reason":"bưu cục đã đóng cửa, nộp sáng mai"}]}`)
	if ok.status != http.StatusOK || ok.body["kept"] != float64(1) {
		t.Fatalf("close with a reason: %d %s", ok.status, ok.raw)
	}
	wantProblem(t, h.as("courier01").do(t, http.MethodPost, "/v1/couriers/"+courier+"/close-day",
		`{"date":"`+today+`","explanations":[{"dossier_id":"`+id+`","reason":"x"}]}`), http.StatusConflict, "CONFLICT", "date")
}
