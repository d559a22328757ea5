package api_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"courierd/domain/auth"
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

// trackerAt looks dossiers up on the server at base from the loopback address local, as a
// separate machine would, sending X-Forwarded-For when forwarded is not empty.
func trackerAt(t *testing.T, base, local string) func(code, digits, forwarded string) int {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return func(code, digits, forwarded string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/track",
			strings.NewReader(`{"receipt_code":"`+code+`","phone_last4":"`+digits+`"}`))
		req.Header.Set("Content-Type", "application/json")
		if forwarded != "" {
			req.Header.Set("X-Forwarded-For", forwarded)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("track from %s: %v", local, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
}

// TestTrackingLockoutFallsOnTheGuesser: on a real socket, an address that gets one code's
// digits wrong again and again is paused on that code, while the code's owner at another
// address still tracks it, mistakes and all; the guesser, forging X-Forwarded-For, gets no
// more lookups than its address's limit.
func TestTrackingLockoutFallsOnTheGuesser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	receipt := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["receipt_code"].(string)
	base := h.listen(t)
	guesser, owner := trackerAt(t, base, "127.0.0.2"), trackerAt(t, base, "127.0.0.3")

	for i := range auth.TrackPerCodeAndSource.Limit {
		if status := guesser(receipt, fmt.Sprintf("%04d", i), ""); status != http.StatusNotFound {
			t.Fatalf("wrong guess %d: %d", i, status)
		}
	}
	if status := guesser(receipt, "6789", ""); status != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong guesses the guesser's right answer got %d, want 429", auth.TrackPerCodeAndSource.Limit, status)
	}
	// The owner tracks more often than the guesser could, with a typo now and then: a right
	// answer clears their count.
	for i := range 2 * auth.TrackPerCodeAndSource.Limit {
		digits := "6789"
		if i%3 == 0 {
			digits = "6788"
		}
		if status, want := owner(receipt, digits, ""), map[bool]int{true: http.StatusOK, false: http.StatusNotFound}[digits == "6789"]; status != want {
			t.Fatalf("the owner's lookup %d (%s) got %d, want %d", i, digits, status, want)
		}
	}
	// Forged forwarding addresses change nothing: the guesser stays paused on the code and
	// gets no more lookups in all than its address's limit.
	if status := guesser(receipt, "6789", "203.0.113.1"); status != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For lifted the pause on the code: %d", status)
	}
	answered, last := auth.TrackPerCodeAndSource.Limit, 0
	for i := range auth.TrackPerSource.Limit {
		if last = guesser(receiptFrom(fmt.Sprintf("walk%04d", i)), "1234", fmt.Sprintf("203.0.113.%d", i)); last != http.StatusTooManyRequests {
			answered++
		}
	}
	if answered > auth.TrackPerSource.Limit || last != http.StatusTooManyRequests {
		t.Fatalf("the guesser got %d lookups answered (the last %d), its address's limit is %d", answered, last, auth.TrackPerSource.Limit)
	}
}

// receiptFrom is a well-formed receipt code drawn from seed's bytes: it matches no dossier.
func receiptFrom(seed string) string {
	code, err := dossier.NewReceiptCode(strings.NewReader(seed))
	if err != nil {
		panic(err)
	}
	return code.String()
}
