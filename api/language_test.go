package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTimelineHonoursAcceptLanguage words a dossier's timeline in the language the request
// asks for: ?lang= first, then Accept-Language (vi or en, by its weights), else Vietnamese.
func TestTimelineHonoursAcceptLanguage(t *testing.T) {
	h := newHarness(t, nil)
	id := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body["id"].(string)
	const vi, en = "Hồ sơ đã được tiếp nhận", "Your application was registered"
	for _, c := range []struct{ query, accept, want string }{
		{"", "", "vi"},
		{"", "vi", "vi"},
		{"", "vi-VN,vi;q=0.9", "vi"},
		{"", "en", "en"},
		{"", "en-US,en;q=0.9", "en"},
		{"", "en-GB", "en"},
		{"", "fr-FR", "vi"},
		{"", "fr, en;q=0.5", "en"},
		{"", "vi;q=0.4, en;q=0.8", "en"},
		{"", "en;q=0.4, vi;q=0.8", "vi"},
		{"", "*", "vi"},
		{"", "not a language header;;;", "vi"},
		{"?lang=en", "vi", "en"},
		{"?lang=vi", "en", "vi"},
	} {
		r := h.as("clerk").with("Accept-Language", c.accept).do(t, http.MethodGet, "/v1/dossiers/"+id+"/timeline"+c.query, "")
		words := map[string]string{"vi": vi, "en": en}
		if r.status != http.StatusOK || !strings.Contains(r.raw, words[c.want]) || r.header.Get("Content-Language") != c.want ||
			!strings.Contains(r.header.Get("Vary"), "Accept-Language") {
			t.Errorf("%q with Accept-Language %q: want %s, got %d %v %s", c.query, c.accept, c.want, r.status, r.header, r.raw)
		}
	}
	receipt := h.do(t, http.MethodGet, "/v1/dossiers/"+id, "").body["receipt_code"].(string)
	track := h.as("").with("Accept-Language", "en-US").do(t, http.MethodPost, "/v1/track", `{"receipt_code":"`+receipt+`","phone_last4":"6789"}`)
	if !strings.Contains(track.raw, en) || track.header.Get("Content-Language") != "en" {
		t.Fatalf("tracking with Accept-Language en-US: %d %s", track.status, track.raw)
	}
}
