package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"courierd/domain/auth"
	"courierd/storage"
)

// session is a login's two tokens.
type session struct{ access, refresh string }

func (h *harness) login(t testing.TB, body string) session {
	t.Helper()
	r := h.as("").do(t, http.MethodPost, "/v1/auth/login", body)
	if r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", body, r.status, r.raw)
	}
	return session{r.body["access_token"].(string), r.body["refresh_token"].(string)}
}

func (h *harness) refresh(t testing.TB, token string) reply {
	t.Helper()
	return h.as("").do(t, http.MethodPost, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, token))
}

// works reports whether an access token is accepted right now.
func (h *harness) works(t testing.TB, access string, headers ...string) bool {
	t.Helper()
	c := h.as("").bearer(access)
	for i := 0; i+1 < len(headers); i += 2 {
		c = c.with(headers[i], headers[i+1])
	}
	r := c.do(t, http.MethodGet, "/v1/me", "")
	if r.status != http.StatusOK && r.status != http.StatusUnauthorized {
		t.Fatalf("/v1/me: %d %s", r.status, r.raw)
	}
	return r.status == http.StatusOK
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	first := h.login(t, loginBody("courier02", testPassword))

	r := h.refresh(t, first.refresh)
	if r.status != http.StatusOK || r.body["refresh_token"] == first.refresh {
		t.Fatalf("refresh must rotate: %d %s", r.status, r.raw)
	}
	second := session{r.body["access_token"].(string), r.body["refresh_token"].(string)}
	if !h.works(t, second.access) || !h.works(t, first.access) {
		t.Fatal("both access tokens of a healthy family work until they expire")
	}

	// The first refresh token again: someone holds a copy. The whole family dies.
	wantProblem(t, h.refresh(t, first.refresh), http.StatusUnauthorized, "UNAUTHENTICATED")
	wantProblem(t, h.refresh(t, second.refresh), http.StatusUnauthorized, "UNAUTHENTICATED")
	if h.works(t, second.access) || h.works(t, first.access) {
		t.Fatal("after reuse, the family's access tokens must stop working at once")
	}
	// Other logins of the same account are untouched.
	other := h.login(t, loginBody("courier02", testPassword))
	if !h.works(t, other.access) || h.refresh(t, other.refresh).status != http.StatusOK {
		t.Fatal("a separate login must survive another family's revocation")
	}
	t.Run("garbage and access tokens are not refresh tokens", func(t *testing.T) {
		for _, tok := range []string{"crt_nope", "", other.access, strings.Repeat("x", 5000)} {
			wantProblem(t, h.refresh(t, tok), http.StatusUnauthorized, "UNAUTHENTICATED")
		}
	})
}

func TestLogoutAndAdminRevocation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	t.Run("logout", func(t *testing.T) {
		s := h.login(t, loginBody("courier03", testPassword))
		if r := h.as("").bearer(s.access).do(t, http.MethodPost, "/v1/auth/logout", ""); r.status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.status, r.raw)
		}
		if h.works(t, s.access) {
			t.Fatal("the access token still works after logout")
		}
		wantProblem(t, h.refresh(t, s.refresh), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
	t.Run("admin revokes an account", func(t *testing.T) {
		a := h.login(t, loginBody("clerk", testPassword))
		b := h.login(t, loginBody("clerk", testPassword))
		clerkID := accountID(h, "clerk")
		if r := h.do(t, http.MethodPost, "/v1/accounts/"+clerkID+"/revoke", ""); r.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		if h.works(t, a.access) || h.works(t, b.access) {
			t.Fatal("a revoked account's unexpired access tokens must fail on the next request")
		}
		wantProblem(t, h.refresh(t, a.refresh), http.StatusUnauthorized, "UNAUTHENTICATED")
		again := h.login(t, loginBody("clerk", testPassword))
		if !h.works(t, again.access) {
			t.Fatal("a login after the revocation must work")
		}
	})
	t.Run("password change ends the other sessions", func(t *testing.T) {
		old := h.login(t, loginBody("courier04", testPassword))
		r := h.as("").bearer(old.access).do(t, http.MethodPost, "/v1/auth/password",
			`{"current_password":"`+testPassword+`","new_password":"a brand new passphrase"}`)
		if r.status != http.StatusOK {
			t.Fatalf("change password: %d %s", r.status, r.raw)
		}
		if h.works(t, old.access) || h.refresh(t, old.refresh).status != http.StatusUnauthorized {
			t.Fatal("the old session survives a password change")
		}
		if !h.works(t, r.body["access_token"].(string)) {
			t.Fatal("the session the change opened does not work")
		}
		wantProblem(t, h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody("courier04", testPassword)), http.StatusUnauthorized, "UNAUTHENTICATED")
		h.login(t, loginBody("courier04", "a brand new passphrase"))
		wantProblem(t, h.as("").bearer(r.body["access_token"].(string)).do(t, http.MethodPost, "/v1/auth/password",
			`{"current_password":"wrong wrong wrong","new_password":"another passphrase"}`), http.StatusUnprocessableEntity, "VALIDATION_FAILED", "current_password")
	})
}

func accountID(h *harness, username string) string {
	for _, a := range h.demo.Accounts {
		if a.Username == username {
			return a.ID.String()
		}
	}
	panic("no demo account " + username)
}

// TestRevocationReachesOtherProcesses runs two servers on one database, as behind a load
// balancer: a revocation made through one is enforced by the other.
func TestRevocationReachesOtherProcesses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	other := h.sibling(t)
	s := h.login(t, loginBody("courier08", testPassword))
	if !other.works(t, s.access) {
		t.Fatal("the second process must accept the first one's tokens (shared keys)")
	}
	if r := h.as("").bearer(s.access).do(t, http.MethodPost, "/v1/auth/logout", ""); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for other.works(t, s.access) {
		if time.Now().After(deadline) {
			t.Fatal("the other process still accepts a revoked token after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sibling is a second server on h's database and keys, with its own revocation list fed
// by the database's notifications.
func (h *harness) sibling(t testing.TB) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	revoked := auth.NewRevocationList()
	go storage.WatchRevocations(ctx, h.db, revoked, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return h.withRevocations(t, revoked)
}

// TestInactiveCourierCannotLogIn: deactivating a courier in the catalog stops their account.
func TestInactiveCourierCannotLogIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	s := h.login(t, loginBody("courier09", testPassword))
	courier := h.do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier09"), "")
	edited := strings.Replace(courier.raw, `"active":true`, `"active":false`, 1)
	if r := h.do(t, http.MethodPut, "/v1/couriers/"+h.courierOf("courier09"), edited); r.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.status, r.raw)
	}
	wantProblem(t, h.as("").do(t, http.MethodPost, "/v1/auth/login", loginBody("courier09", testPassword)), http.StatusUnauthorized, "UNAUTHENTICATED")
	wantProblem(t, h.refresh(t, s.refresh), http.StatusUnauthorized, "UNAUTHENTICATED")
}

// TestRememberedTokensAreNotConfused: tokens verified once are remembered, and the server
// reads each request's token out of a buffer it reuses for later requests. Callers taking
// turns, at once, must each stay who they are.
func TestRememberedTokensAreNotConfused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	users := []string{"courier01", "courier02", "courier03", "dispatcher"}
	first := map[string]string{}
	for _, u := range users {
		first[u] = h.as(u).do(t, http.MethodGet, "/v1/me", "").raw
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(users)*50)
	for round := range 50 {
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := h.as(u).do(t, http.MethodGet, "/v1/me", ""); r.raw != first[u] {
					errs <- fmt.Sprintf("round %d, %s: %s; first answer %s", round, u, r.raw, first[u])
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
