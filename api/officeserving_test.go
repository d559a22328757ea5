package api_test

import (
	"net/http"
	"testing"
)

// TestOfficeServingAfterEdit: a dossier's address finds a post office created through the
// API, or moved there by an edit of its area, from the very next dossier on, though the
// index of service areas was built before.
func TestOfficeServingAfterEdit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	seedUnits(t, h)
	open := func(lon, lat string) reply {
		t.Helper()
		return h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) {
			f["lon"], f["lat"], f["unit"] = lon, lat, "00004"
		}))
	}
	served := func(r reply, office string) {
		t.Helper()
		if r.status != http.StatusCreated || r.body["post_office_id"] != office || r.body["outside_service_area"] != false {
			t.Fatalf("want a dossier of office %s: %d %s", office, r.status, r.raw)
		}
	}
	// Nothing serves Hà Nội in the demo; this lookup builds the index.
	wantProblem(t, open("105.83", "21.03"), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "post_office_id")

	id := h.mustCreate(t, "/v1/post-offices", office(areaJSON), "id")
	served(open("105.83", "21.03"), id)
	wantProblem(t, open("105.90", "21.04"), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "post_office_id")

	moved := `{"type":"Polygon","coordinates":[[[105.88,21.02],[105.92,21.02],[105.92,21.06],[105.88,21.06],[105.88,21.02]]]}`
	if r := h.do(t, http.MethodPut, "/v1/post-offices/"+id, office(moved)); r.status != http.StatusOK {
		t.Fatalf("PUT the moved area: %d %s", r.status, r.raw)
	}
	served(open("105.90", "21.04"), id)
	wantProblem(t, open("105.83", "21.03"), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "post_office_id")
}
