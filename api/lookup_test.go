package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"courierd/domain/dossier"
)

// TestTrackByReceiptCode: with the receipt code and the phone's last four digits anyone
// sees the public timeline and the next step, and nothing personal; a wrong code and wrong
// digits answer alike; lookups are throttled per code and per address.
func TestTrackByReceiptCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	created := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil))
	receipt := created.body["receipt_code"].(string)
	id := created.body["id"].(string)
	h.mustEvent(t, "dispatcher", id, `{"event":"schedule_pickup","date":"`+h.bookable(t)[1]+`"}`, "scheduled")
	anon := h.as("")
	lookup := func(c client, code, digits string) reply {
		return c.do(t, http.MethodPost, "/v1/track", `{"receipt_code":"`+code+`","phone_last4":"`+digits+`"}`)
	}

	ok := lookup(anon, receipt, "6789")
	if ok.status != http.StatusOK || len(ok.body["steps"].([]any)) < 2 || ok.body["next"].(map[string]any)["text"] == "" {
		t.Fatalf("track: %d %s", ok.status, ok.raw)
	}
	for _, personal := range []string{"Trần Thị Mai", "Lê Hồng Phong", "0913", "456 789", "3456789", "074190001234", "*********234", id} {
		if strings.Contains(ok.raw, personal) {
			t.Fatalf("the public answer shows %q: %s", personal, ok.raw)
		}
	}
	// Wrong digits and a code that matches nothing: the same answer, word for word.
	wrongDigits := lookup(anon, receipt, "6780")
	unknown := lookup(anon, receiptFrom("unknown1"), "6789")
	wantProblem(t, wrongDigits, http.StatusNotFound, "NOT_FOUND")
	wantProblem(t, unknown, http.StatusNotFound, "NOT_FOUND")
	if wrongDigits.body["detail"] != unknown.body["detail"] {
		t.Fatalf("the two refusals differ: %q and %q", wrongDigits.body["detail"], unknown.body["detail"])
	}
	wantProblem(t, lookup(anon, "not-a-code", "6789"), http.StatusBadRequest, "BAD_RECEIPT_CODE")
	wantProblem(t, lookup(anon, receipt, "67"), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "phone_last4")

	// Ten lookups of one code in ten minutes, then a pause, even with the right digits.
	for range 9 {
		lookup(anon, receipt, "0000")
	}
	locked := lookup(anon, receipt, "6789")
	wantProblem(t, locked, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
	if locked.header.Get("Retry-After") == "" {
		t.Fatal("a throttled lookup says when to come back")
	}
	// One address walking through codes, each tried once, is stopped too.
	var last reply
	for i := range 61 {
		last = lookup(anon, receiptFrom(fmt.Sprintf("walk%04d", i)), "1234")
	}
	wantProblem(t, last, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
}

// receiptFrom is a well-formed receipt code drawn from seed's bytes: it matches no dossier.
func receiptFrom(seed string) string {
	code, err := dossier.NewReceiptCode(strings.NewReader(seed))
	if err != nil {
		panic(err)
	}
	return code.String()
}
