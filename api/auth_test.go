package api_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

func loginBody(username, password string) string {
	return fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	anon := h.as("")

	t.Run("success", func(t *testing.T) {
		r := anon.do(t, http.MethodPost, "/v1/auth/login", loginBody("dispatcher", testPassword))
		if r.status != http.StatusOK || r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(600) ||
			!strings.HasPrefix(r.body["refresh_token"].(string), "crt_") || strings.Count(r.body["access_token"].(string), ".") != 2 {
			t.Fatalf("login: %d %s", r.status, r.raw)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatal("token answers must not be cached")
		}
	})
	t.Run("unknown user and wrong password answer alike", func(t *testing.T) {
		wrong := anon.do(t, http.MethodPost, "/v1/auth/login", loginBody("clerk", "not the password"))
		unknown := anon.do(t, http.MethodPost, "/v1/auth/login", loginBody("nobody-here", "not the password"))
		wantProblem(t, wrong, http.StatusUnauthorized, "UNAUTHENTICATED")
		wantProblem(t, unknown, http.StatusUnauthorized, "UNAUTHENTICATED")
		if wrong.body["detail"] != unknown.body["detail"] || wrong.body["title"] != unknown.body["title"] {
			t.Fatalf("the answers differ:\n%s\n%s", wrong.raw, unknown.raw)
		}
	})
	t.Run("usernames are case-insensitive", func(t *testing.T) {
		if r := anon.do(t, http.MethodPost, "/v1/auth/login", loginBody(" Courier03 ", testPassword)); r.status != http.StatusOK {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		wantProblem(t, anon.do(t, http.MethodPost, "/v1/auth/login", `{"username":"admin","password":7}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "password")
	})
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	anon := h.as("")
	t.Run("per account", func(t *testing.T) {
		for _, user := range []string{"courier05", "no-such-user"} {
			for i := 0; i < 5; i++ {
				wantProblem(t, anon.do(t, http.MethodPost, "/v1/auth/login", loginBody(user, "guess-number-"+fmt.Sprint(i))), http.StatusUnauthorized, "UNAUTHENTICATED")
			}
			r := anon.do(t, http.MethodPost, "/v1/auth/login", loginBody(user, testPassword))
			wantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		// Another account from the same address is not locked out by those.
		if r := anon.do(t, http.MethodPost, "/v1/auth/login", loginBody("courier06", testPassword)); r.status != http.StatusOK {
			t.Fatalf("courier06: %d %s", r.status, r.raw)
		}
	})
	t.Run("per source address", func(t *testing.T) {
		for i := 0; i < 50; i++ {
			anon.do(t, http.MethodPost, "/v1/auth/login", loginBody(fmt.Sprintf("sprayed-%d", i), "spring2026!"))
		}
		wantProblem(t, anon.do(t, http.MethodPost, "/v1/auth/login", loginBody("courier07", testPassword)), http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
	})
}

// forge signs claims with the server's own key, changed by edit; the server must refuse
// every token a test builds this way but the untouched one.
func (h *harness) forge(t testing.TB, edit func(header map[string]any, claims jwt.MapClaims)) string {
	t.Helper()
	raw, err := os.ReadFile(h.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.ParseEdPrivateKeyFromPEM(raw)
	if err != nil {
		t.Fatal(err)
	}
	admin := h.demo.Accounts[0]
	now := time.Now()
	claims := jwt.MapClaims{"iss": "courierd", "aud": []string{"courierd-api"}, "sub": admin.ID.String(), "role": "admin",
		"sid": uuid.NewString(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"], tok.Header["typ"] = "k1", "at+jwt"
	edit(tok.Header, claims)
	signed, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// TestPasswordGuessesAreThrottledAlike: a wrong password at login and a wrong current
// password on /v1/auth/password count on the same counters: five wrong ones either way lock
// the account both ways, even for the right password, and leave other accounts alone.
func TestPasswordGuessesAreThrottledAlike(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	guesses := map[string]func(user, password string) reply{
		"login": func(user, password string) reply {
			return h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody(user, password))
		},
		"password change": func(user, password string) reply {
			return h.as(user).do(t, http.MethodPost, "/v1/auth/password",
				fmt.Sprintf(`{"current_password":%q,"new_password":"a brand new passphrase"}`, password))
		},
	}
	guesser := map[string]string{"login": "courier05", "password change": "courier06"}
	for way, guess := range guesses {
		user := guesser[way]
		h.token(t, user) // signed in before the guessing starts
		for i := range 5 {
			if r := guess(user, fmt.Sprint("guess-number-", i)); r.status == http.StatusTooManyRequests || r.status == http.StatusOK {
				t.Fatalf("%s guess %d for %s: %d %s", way, i, user, r.status, r.raw)
			}
		}
		for lockedWay, locked := range guesses {
			r := locked(user, testPassword)
			wantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
			if r.header.Get("Retry-After") == "" {
				t.Fatalf("%s after wrong guesses by %s: 429 without Retry-After", lockedWay, way)
			}
		}
	}
	if r := h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody("courier07", testPassword)); r.status != http.StatusOK {
		t.Fatalf("another account was locked out: %d %s", r.status, r.raw)
	}
}

func TestTokenAttacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	probe := func(t *testing.T, token string) reply {
		return h.as("").bearer(token).do(t, http.MethodGet, "/v1/procedures?limit=1", "")
	}
	if r := probe(t, h.forge(t, func(map[string]any, jwt.MapClaims) {})); r.status != http.StatusOK {
		t.Fatalf("the untouched forged token must pass, or the cases below prove nothing: %d %s", r.status, r.raw)
	}
	pemBytes, _ := os.ReadFile(h.keyPath)
	block, _ := pem.Decode(pemBytes)
	private, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	publicDER, _ := x509.MarshalPKIXPublicKey(private.(ed25519.PrivateKey).Public())
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicDER})
	valid := h.token(t, "admin")

	attacks := map[string]string{
		"alg none": func() string {
			parts := strings.Split(valid, ".")
			return jwtSegment(`{"alg":"none","typ":"at+jwt","kid":"k1"}`) + "." + parts[1] + "."
		}(),
		"HS256 keyed with the public key": func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "courierd", "aud": "courierd-api", "sub": h.demo.Accounts[0].ID.String(),
				"role": "admin", "sid": uuid.NewString(), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
			tok.Header["kid"], tok.Header["typ"] = "k1", "at+jwt"
			s, _ := tok.SignedString(publicPEM)
			return s
		}(),
		"altered signature":  valid[:len(valid)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(valid, "AA")],
		"altered role":       alterPayload(h.token(t, "courier01"), `"role":"courier"`, `"role":"admin"`),
		"unknown kid":        h.forge(t, func(hd map[string]any, _ jwt.MapClaims) { hd["kid"] = "k2" }),
		"kid path traversal": h.forge(t, func(hd map[string]any, _ jwt.MapClaims) { hd["kid"] = "../../etc/passwd" }),
		"no kid":             h.forge(t, func(hd map[string]any, _ jwt.MapClaims) { delete(hd, "kid") }),
		"wrong typ":          h.forge(t, func(hd map[string]any, _ jwt.MapClaims) { hd["typ"] = "JWT" }),
		"expired":            h.forge(t, func(_ map[string]any, c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }),
		"no exp":             h.forge(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "exp") }),
		"exp zero":           h.forge(t, func(_ map[string]any, c jwt.MapClaims) { c["exp"] = 0 }),
		"no iat":             h.forge(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "iat") }),
		"not yet valid":      h.forge(t, func(_ map[string]any, c jwt.MapClaims) { c["nbf"] = time.Now().Add(2 * time.Minute).Unix() }),
		"wrong audience":     h.forge(t, func(_ map[string]any, c jwt.MapClaims) { c["aud"] = []string{"courierd-citizen"} }),
		"no audience":        h.forge(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "aud") }),
		"wrong issuer":       h.forge(t, func(_ map[string]any, c jwt.MapClaims) { c["iss"] = "someone-else" }),
		"no session":         h.forge(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "sid") }),
		"bad subject":        h.forge(t, func(_ map[string]any, c jwt.MapClaims) { c["sub"] = "admin" }),
		"refresh token":      h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody("admin", testPassword)).body["refresh_token"].(string),
		"header of dots":     strings.Repeat(".", 3000),
		"empty":              "",
	}
	for name, token := range attacks {
		t.Run(name, func(t *testing.T) {
			wantProblem(t, probe(t, token), http.StatusUnauthorized, "UNAUTHENTICATED")
		})
	}
	t.Run("expired within leeway passes", func(t *testing.T) {
		tok := h.forge(t, func(_ map[string]any, c jwt.MapClaims) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() })
		if r := probe(t, tok); r.status != http.StatusOK {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
	t.Run("no Bearer scheme", func(t *testing.T) {
		wantProblem(t, h.as("").with("Authorization", valid).do(t, http.MethodGet, "/v1/procedures", ""), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
}

func jwtSegment(s string) string {
	return strings.TrimRight(b64url(s), "=")
}

// alterPayload rewrites a token's claims without re-signing.
func alterPayload(token, from, to string) string {
	parts := strings.Split(token, ".")
	payload := strings.Replace(unb64url(parts[1]), from, to, 1)
	return parts[0] + "." + jwtSegment(payload) + "." + parts[2]
}

// TestThrottlesHoldUnderConcurrency: a burst of attempts at once gets no further than the
// same attempts one by one.
func TestThrottlesHoldUnderConcurrency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	d := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	burst := func(n int, call func(i int) int) map[int]int {
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses <- call(i)
			}(i)
		}
		wg.Wait()
		close(statuses)
		counts := map[int]int{}
		for s := range statuses {
			counts[s]++
		}
		return counts
	}
	logins := burst(40, func(i int) int {
		return h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody("courier05", fmt.Sprintf("guess %d", i))).status
	})
	if logins[http.StatusUnauthorized] != 5 || logins[http.StatusTooManyRequests] != 35 {
		t.Fatalf("40 wrong passwords at once: %v, want 5 × 401 and 35 × 429", logins)
	}
	before := h.codesSent()
	codes := burst(15, func(int) int { return h.as("").requestCode(t, d["receipt_code"].(string), "0913456789").status })
	if codes[http.StatusAccepted] != 1 || h.codesSent()-before != 1 {
		t.Fatalf("15 code requests at once: %v, %d codes sent; want exactly one", codes, h.codesSent()-before)
	}
}
