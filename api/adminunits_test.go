package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// unitBody is a ward of Hồ Chí Minh City (79) as the admin API takes it.
func unitBody(code, name string) string {
	return fmt.Sprintf(`{"code":%q,"name":%q,"level":"commune","kind":"ward","parent_code":"79"}`, code, name)
}

// TestAdminUnitMergerChains generates chains of mergers A → B → C… of every length up to
// four and every pattern of code reuse (each new ward taking the merged ward's code, or a
// code of its own), and requires: old and new units with one code coexist; an old code,
// any step back, resolves to the unit of today; a dossier's address given with the oldest
// code is recorded in today's ward; and the unit a code names by itself is the current one.
func TestAdminUnitMergerChains(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	admin := h.as("admin")
	next := 41000
	fresh := func() string { next++; return fmt.Sprint(next) }
	for length := 1; length <= 4; length++ {
		for reuse := range 1 << length {
			name := fmt.Sprintf("%d mergers, reuse %0*b", length, length, reuse)
			first := fresh()
			if r := admin.do(t, http.MethodPost, "/v1/admin-units", unitBody(first, "Phường Đầu "+first)); r.status != http.StatusCreated {
				t.Fatalf("%s: creating the first ward: %d %s", name, r.status, r.raw)
			}
			codes, current := []string{first}, first
			var finalID string
			for step := range length {
				code := fresh()
				if reuse&(1<<step) != 0 {
					code = current // the new ward takes the merged ward's code
				}
				date := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, step, 0).Format(time.DateOnly)
				r := admin.do(t, http.MethodPost, "/v1/admin-units/mergers", fmt.Sprintf(`{"date":%q,"merged_codes":[%q],"new_unit":%s}`,
					date, current, unitBody(code, fmt.Sprintf("Phường Mới %s/%d", code, step))))
				successor, _ := r.body["successor"].(map[string]any)
				if r.status != http.StatusCreated || successor["code"] != code || successor["valid_from"] != date {
					t.Fatalf("%s: merger %d: %d %s", name, step, r.status, r.raw)
				}
				merged := r.body["merged"].([]any)[0].(map[string]any)
				if merged["code"] != current || merged["valid_to"] != date || merged["successor_id"] != successor["id"] {
					t.Fatalf("%s: the merged ward after merger %d: %v", name, step, merged)
				}
				current, finalID = code, successor["id"].(string)
				codes = append(codes, code)
			}
			for _, code := range codes {
				if got := admin.do(t, http.MethodGet, "/v1/admin-units/"+code+"/current", ""); got.body["id"] != finalID || got.body["valid_to"] != nil {
					t.Fatalf("%s: %s resolves to %s, want today's unit %s", name, code, got.raw, finalID)
				}
				holders := admin.do(t, http.MethodGet, "/v1/admin-units?code="+code, "").body["items"].([]any)
				want := strings.Count(strings.Join(codes, " ")+" ", code+" ")
				if len(holders) != want {
					t.Fatalf("%s: %d units hold %s, want %d (old and new side by side)", name, len(holders), code, want)
				}
				byCode := admin.do(t, http.MethodGet, "/v1/admin-units/"+code, "").body
				if code == current && byCode["id"] != finalID {
					t.Fatalf("%s: the code %s names %v, not the current unit", name, code, byCode)
				}
			}
			if length == 4 && reuse == 0b0101 {
				d := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["unit"] = first }))
				if d.status != http.StatusCreated || d.body["applicant"].(map[string]any)["admin_unit_code"] != current {
					t.Fatalf("a dossier addressed with the oldest code %s: %d %s, want today's ward %s", first, d.status, d.raw, current)
				}
			}
		}
	}

	t.Run("several wards into one that exists", func(t *testing.T) {
		into, a, b := fresh(), fresh(), fresh()
		for _, code := range []string{into, a, b} {
			admin.do(t, http.MethodPost, "/v1/admin-units", unitBody(code, "Phường "+code))
		}
		r := admin.do(t, http.MethodPost, "/v1/admin-units/mergers", fmt.Sprintf(`{"date":"2025-07-01","merged_codes":[%q,%q],"into_code":%q}`, a, b, into))
		if r.status != http.StatusCreated || r.body["successor"].(map[string]any)["code"] != into || len(r.body["merged"].([]any)) != 2 {
			t.Fatalf("merger into an existing ward: %d %s", r.status, r.raw)
		}
		for _, code := range []string{a, b} {
			if got := admin.do(t, http.MethodGet, "/v1/admin-units/"+code+"/current", "").body["code"]; got != into {
				t.Fatalf("%s resolves to %v, want %s", code, got, into)
			}
		}
		// An ended ward cannot merge again; a merger is recorded once it took effect; a
		// ward cannot merge into itself; a new ward cannot take a code a standing ward holds.
		wantProblem(t, admin.do(t, http.MethodPost, "/v1/admin-units/mergers", fmt.Sprintf(`{"date":"2025-08-01","merged_codes":[%q],"into_code":%q}`, a, into)),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "merged_codes[0]")
		tomorrow := time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
		wantProblem(t, admin.do(t, http.MethodPost, "/v1/admin-units/mergers", fmt.Sprintf(`{"date":%q,"merged_codes":[%q],"into_code":"25760"}`, tomorrow, into)),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "date")
		wantProblem(t, admin.do(t, http.MethodPost, "/v1/admin-units/mergers", fmt.Sprintf(`{"date":"2025-08-01","merged_codes":[%q],"into_code":%q}`, into, into)),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "into_code")
		wantProblem(t, admin.do(t, http.MethodPost, "/v1/admin-units/mergers", fmt.Sprintf(`{"date":"2025-08-01","merged_codes":[%q],"new_unit":%s}`, into, unitBody("25760", "Phường Trùng"))),
			http.StatusConflict, "CONFLICT", "new_unit.code")
		wantProblem(t, admin.do(t, http.MethodPost, "/v1/admin-units", unitBody(into, "Phường Trùng")), http.StatusConflict, "CONFLICT", "code")
	})

	t.Run("the demo's old Phú Cường beside the new ward with its code", func(t *testing.T) {
		holders := admin.do(t, http.MethodGet, "/v1/admin-units?code=25747", "").body["items"].([]any)
		if len(holders) != 2 {
			t.Fatalf("units with 25747: %v", holders)
		}
		now, old := holders[0].(map[string]any), holders[1].(map[string]any)
		if now["name"] != "Phường Thủ Dầu Một" || now["valid_to"] != nil || old["name"] != "Phường Phú Cường" || old["valid_to"] != "2025-07-01" || old["successor_id"] != now["id"] {
			t.Fatalf("25747 now %v, before %v", now, old)
		}
		// Editing by code edits today's unit, as before.
		edited := strings.Replace(unitBody("25747", "Phường Thủ Dầu Một (đã sửa)"), "{", fmt.Sprintf(`{"version":%v,`, now["version"]), 1)
		if r := admin.do(t, http.MethodPut, "/v1/admin-units/25747", edited); r.status != http.StatusOK || r.body["id"] != now["id"] || r.body["valid_from"] != "2025-07-01" {
			t.Fatalf("editing 25747: %d %s", r.status, r.raw)
		}
	})
}
