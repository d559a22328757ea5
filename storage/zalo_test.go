package storage_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"courierd/domain/dossier"
	"courierd/domain/notify"
	"courierd/domain/pii"
	"courierd/storage"
	"courierd/storage/dbtest"
	"courierd/storage/outbound/messaging"
)

const (
	zaloAppID  = "4291763606161179100"
	zaloSecret = "app-secret-Zq81"
)

// fakeZalo is Zalo's OAuth v4 endpoint and its template-message endpoint, as strict as
// Zalo: a refresh token is good once, and a message is sent only with the access token
// issued last, before it expires or is revoked.
type fakeZalo struct {
	t        *testing.T
	now      func() time.Time
	lifetime string // expires_in, as Zalo writes it: a string of seconds
	// down makes the OAuth endpoint answer 503; refuse makes it answer an error;
	// refuseTokens makes the template endpoint refuse every access token; messageError is
	// its answer to a good token, 0 for success.
	down, refuse, refuseTokens bool
	messageError               int

	mu        sync.Mutex
	issued    int
	refresh   string // the one refresh token that is still good
	access    string
	expires   time.Time
	revoked   map[string]bool
	refreshes int // tokens issued
	reused    int // refresh tokens presented after they were spent
	sentWith  []string
	refusal   int // the ZNS error code a revoked token gets: -124 or -216
}

func newFakeZalo(t *testing.T, now func() time.Time) (*fakeZalo, *httptest.Server) {
	f := &fakeZalo{t: t, now: now, lifetime: "90000", revoked: map[string]bool{}, refusal: -124}
	f.refresh = f.newToken("refresh")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v4/oa/access_token", f.oauth)
	mux.HandleFunc("POST /message/template", f.zns)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

// newToken makes a token long and random enough that finding it in a sealed value is no
// accident.
func (f *fakeZalo) newToken(kind string) string {
	f.issued++
	return fmt.Sprintf("%s-%d-%s", kind, f.issued, rand.Text())
}

func (f *fakeZalo) oauth(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("secret_key") != zaloSecret || r.FormValue("app_id") != zaloAppID || r.FormValue("grant_type") != "refresh_token" {
		f.t.Errorf("OAuth request: secret %q, form %v", r.Header.Get("secret_key"), r.Form)
	}
	// Held a moment, as a real round trip is, so that racing processes overlap.
	time.Sleep(20 * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.down:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case f.refuse:
		_, _ = w.Write([]byte(`{"error":-14014,"error_name":"Invalid refresh token","error_description":"refresh token is invalid"}`))
		return
	case r.FormValue("refresh_token") != f.refresh:
		f.reused++
		_, _ = w.Write([]byte(`{"error":-14014,"error_name":"Invalid refresh token","error_description":"refresh token was used"}`))
		return
	}
	f.refreshes++
	f.access, f.refresh = f.newToken("access"), f.newToken("refresh")
	seconds, _ := strconv.Atoi(f.lifetime)
	f.expires = f.now().Add(time.Duration(seconds) * time.Second)
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": f.access, "refresh_token": f.refresh, "expires_in": f.lifetime})
}

func (f *fakeZalo) zns(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("access_token")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sentWith = append(f.sentWith, token)
	switch {
	case f.refuseTokens || token != f.access || f.revoked[token] || !f.now().Before(f.expires):
		fmt.Fprintf(w, `{"error":%d,"message":"Access token is invalid"}`, f.refusal)
	case f.messageError != 0:
		fmt.Fprintf(w, `{"error":%d,"message":"Phone number is invalid"}`, f.messageError)
	default:
		_, _ = w.Write([]byte(`{"error":0,"message":"Success","data":{"msg_id":"1"}}`))
	}
}

// state is what the fake has issued and seen, read under its lock.
func (f *fakeZalo) state() (access, refresh string, refreshes, reused, sends int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.access, f.refresh, f.refreshes, f.reused, len(f.sentWith)
}

func (f *fakeZalo) set(change func(f *fakeZalo)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// clock is a process's clock that a test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type zaloWorld struct {
	fake  *fakeZalo
	url   string // the database's
	srv   *httptest.Server
	clock *clock
	keys  *pii.Keyring
}

func newZaloWorld(t *testing.T) *zaloWorld {
	_, url := dbtest.New(t)
	c := &clock{now: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	fake, srv := newFakeZalo(t, c.Now)
	key, err := pii.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pii.NewKeyring(map[string][]byte{"2026-12-01": key}, "2026-12-01", "2026-12-01", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &zaloWorld{fake: fake, url: url, srv: srv, clock: c, keys: keys}
}

// process is one courierd process's token source: its own pool on the shared database.
func (w *zaloWorld) process(t *testing.T) *notify.ZaloTokens {
	db, err := storage.Open(context.Background(), w.url, storage.PoolConfig{MaxOpenConns: 8}, w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	oauth := messaging.ZaloOAuth{URL: w.srv.URL + "/v4/oa/access_token", AppID: zaloAppID, Secret: zaloSecret}
	return notify.NewZaloTokens(storage.NewZaloTokenStore(db), w.keys, zaloAppID, oauth.Refresh, time.Hour, w.clock.Now)
}

// seeded is a world whose first refresh token an operator stored.
func seeded(t *testing.T) (*zaloWorld, *notify.ZaloTokens) {
	w := newZaloWorld(t)
	tokens := w.process(t)
	_, first, _, _, _ := w.fake.state()
	if err := tokens.Replace(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	return w, tokens
}

func (w *zaloWorld) zns(tokens messaging.AccessTokens) messaging.ZNS {
	return messaging.ZNS{URL: w.srv.URL + "/message/template", Tokens: tokens,
		Templates: map[dossier.Notice]string{dossier.NoticeResultReady: "281234"}}
}

var zaloNotice = notify.Message{Phone: "0913456789", Notice: dossier.NoticeResultReady, Ref: "d1/result_ready",
	Params: map[string]string{"receipt_code": "7K3M-9QX2-D"}}

// TestZaloTokenRefreshedBeforeExpiry: the access token is refreshed once it expires within
// the margin, or within half its life when that is shorter, and not before; another
// process reads the refreshed token from the database rather than refreshing again.
func TestZaloTokenRefreshedBeforeExpiry(t *testing.T) {
	for _, life := range []time.Duration{25 * time.Hour, 3 * time.Hour, 2 * time.Hour, 40 * time.Minute, 90 * time.Second} {
		t.Run(life.String(), func(t *testing.T) {
			ctx := context.Background()
			w, tokens := seeded(t)
			w.fake.set(func(f *fakeZalo) { f.lifetime = strconv.Itoa(int(life.Seconds())) })
			first, err := tokens.Token(ctx)
			if access, _, refreshes, _, _ := w.fake.state(); err != nil || first != access || refreshes != 1 {
				t.Fatalf("first token: %q, %v; Zalo issued %q after %d refreshes", first, err, access, refreshes)
			}
			renewIn := life - min(time.Hour, life/2)
			w.clock.advance(renewIn - time.Second)
			for _, source := range []*notify.ZaloTokens{tokens, w.process(t)} {
				if got, err := source.Token(ctx); err != nil || got != first {
					t.Fatalf("a second before renewal: %q, %v; want the first token", got, err)
				}
			}
			w.clock.advance(2 * time.Second)
			second, err := tokens.Token(ctx)
			access, _, refreshes, reused, _ := w.fake.state()
			if err != nil || second == first || second != access || refreshes != 2 || reused != 0 {
				t.Fatalf("after renewal: %q, %v; Zalo issued %q, %d refreshes, %d reused", second, err, access, refreshes, reused)
			}
			if got, err := w.process(t).Token(ctx); err != nil || got != second {
				t.Fatalf("another process: %q, %v; want the refreshed token", got, err)
			}
			status, err := tokens.Status(ctx)
			if err != nil || status.Version != 3 || !status.AccessExpiresAt.Equal(w.clock.Now().Add(life)) {
				t.Fatalf("status: %+v, %v", status, err)
			}
		})
	}
}

// TestZNSRefreshesAfterTokenError: a message Zalo answers with a token error (-124 or -216)
// is sent again with a refreshed token; other errors refuse the message without a
// refresh; a fresh token refused too is retried later, not a refusal.
func TestZNSRefreshesAfterTokenError(t *testing.T) {
	for _, code := range []int{-124, -216} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			ctx := context.Background()
			w, tokens := seeded(t)
			zns := w.zns(tokens)
			if err := zns.Send(ctx, zaloNotice); err != nil {
				t.Fatal(err)
			}
			revoked, _, _, _, _ := w.fake.state()
			w.fake.set(func(f *fakeZalo) { f.revoked[revoked] = true; f.refusal = code })
			if err := zns.Send(ctx, zaloNotice); err != nil {
				t.Fatalf("after a revoked token: %v", err)
			}
			access, _, refreshes, reused, _ := w.fake.state()
			w.fake.mu.Lock()
			sent := append([]string(nil), w.fake.sentWith...)
			w.fake.mu.Unlock()
			if refreshes != 2 || reused != 0 || len(sent) != 3 || sent[1] != revoked || sent[2] != access {
				t.Fatalf("%d refreshes, %d reused; sent with %v, want the revoked then the new token", refreshes, reused, sent)
			}

			// Zalo refuses every token now: one refresh, then a temporary error.
			w.fake.set(func(f *fakeZalo) { f.refuseTokens = true })
			err := zns.Send(ctx, zaloNotice)
			if _, _, refreshes, _, _ := w.fake.state(); err == nil || errors.As(err, new(notify.Refused)) || refreshes != 3 {
				t.Fatalf("a fresh token refused: %v after %d refreshes, want a temporary error after one more", err, refreshes)
			}
		})
	}
	t.Run("a refusal of the message", func(t *testing.T) {
		w, tokens := seeded(t)
		w.fake.set(func(f *fakeZalo) { f.messageError = -108 })
		err := w.zns(tokens).Send(context.Background(), zaloNotice)
		if _, _, refreshes, _, _ := w.fake.state(); !errors.As(err, new(notify.Refused)) || refreshes != 1 {
			t.Fatalf("error -108: %v after %d refreshes, want a refusal and no second refresh", err, refreshes)
		}
	})
}

// TestZaloRefreshSpentOnce: senders of two processes on one database, all needing a token
// at once, spend the single-use refresh token once; so do senders that all had the same
// token refused.
func TestZaloRefreshSpentOnce(t *testing.T) {
	ctx := context.Background()
	w, first := seeded(t)
	processes := []*notify.ZaloTokens{first, w.process(t)}
	const senders = 8
	all := func(get func(source *notify.ZaloTokens) (string, error)) []string {
		got := make([]string, senders)
		errs := make([]error, senders)
		var wg sync.WaitGroup
		for i := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = get(processes[i%len(processes)])
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		return got
	}
	same := func(got []string, want string) {
		t.Helper()
		for _, g := range got {
			if g != want {
				t.Fatalf("tokens %v, want all %q", got, want)
			}
		}
	}

	got := all(func(s *notify.ZaloTokens) (string, error) { return s.Token(ctx) })
	access, _, refreshes, reused, _ := w.fake.state()
	if refreshes != 1 || reused != 0 {
		t.Fatalf("%d refreshes, %d reused refresh tokens; want one refresh", refreshes, reused)
	}
	same(got, access)

	stale := access
	w.fake.set(func(f *fakeZalo) { f.revoked[stale] = true })
	got = all(func(s *notify.ZaloTokens) (string, error) { return s.Refresh(ctx, stale) })
	access, _, refreshes, reused, _ = w.fake.state()
	if refreshes != 2 || reused != 0 || access == stale {
		t.Fatalf("after a refusal: %d refreshes, %d reused; want one more refresh", refreshes, reused)
	}
	same(got, access)
}

// TestZaloFailedRefreshKeepsTokens: a refresh Zalo does not answer, or refuses, leaves the
// stored tokens as they were and makes the message wait (a temporary error, so the job
// retries) rather than fall back to SMS; once Zalo answers, the kept refresh token works.
func TestZaloFailedRefreshKeepsTokens(t *testing.T) {
	ctx := context.Background()
	w, tokens := seeded(t)
	if _, err := tokens.Token(ctx); err != nil {
		t.Fatal(err)
	}
	before := storedZaloRow(t, w.url)
	w.clock.advance(25 * time.Hour)
	sms := &countingChannel{}
	both := messaging.Fallback{First: w.zns(tokens), Then: sms}
	for _, failure := range []func(f *fakeZalo){
		func(f *fakeZalo) { f.down = true },
		func(f *fakeZalo) { f.down, f.refuse = false, true },
	} {
		w.fake.set(failure)
		_, err := tokens.Token(ctx)
		sendErr := both.Send(ctx, zaloNotice)
		if err == nil || sendErr == nil || errors.As(sendErr, new(notify.Refused)) || sms.sent != 0 {
			t.Fatalf("refresh failing: token %v, send %v, %d SMS; want temporary errors and no SMS", err, sendErr, sms.sent)
		}
		if after := storedZaloRow(t, w.url); after != before {
			t.Fatalf("a failed refresh changed the stored tokens:\n%v\n%v", before, after)
		}
	}
	w.fake.set(func(f *fakeZalo) { f.refuse = false })
	if err := both.Send(ctx, zaloNotice); err != nil || sms.sent != 0 {
		t.Fatalf("Zalo back: %v, %d SMS", err, sms.sent)
	}
	if _, _, refreshes, reused, _ := w.fake.state(); refreshes != 2 || reused != 0 {
		t.Fatalf("%d refreshes, %d reused", refreshes, reused)
	}
}

type countingChannel struct{ sent int }

func (c *countingChannel) Send(context.Context, notify.Message) error { c.sent++; return nil }

// TestZaloTokensSealedAtRest: the table holds neither token in clear, and each sealed token
// opens only as what it is, for its app.
func TestZaloTokensSealedAtRest(t *testing.T) {
	ctx := context.Background()
	w, tokens := seeded(t)
	if _, err := tokens.Token(ctx); err != nil {
		t.Fatal(err)
	}
	access, refresh, _, _, _ := w.fake.state()
	row := storedZaloRow(t, w.url)
	for _, secret := range []string{access, refresh, access[len(access)-10:], refresh[len(refresh)-10:]} {
		if strings.Contains(row, secret) {
			t.Fatalf("the stored row holds a token in clear: %s", row)
		}
	}
	for _, sealed := range []struct{ column, context, want string }{
		{"refresh_token_sealed", "zalo_tokens/" + zaloAppID + "/refresh", refresh},
		{"access_token_sealed", "zalo_tokens/" + zaloAppID + "/access", access},
	} {
		value := storedZaloColumn(t, w.url, sealed.column)
		if got, err := w.keys.Open(value, sealed.context); err != nil || got != sealed.want {
			t.Fatalf("%s opens to %q, %v", sealed.column, got, err)
		}
		for _, wrong := range []string{"zalo_tokens/" + zaloAppID + "/other", "zalo_tokens/1/refresh", "zalo_tokens/1/access"} {
			if _, err := w.keys.Open(value, wrong); err == nil {
				t.Fatalf("%s opens as %s", sealed.column, wrong)
			}
		}
	}
	// What an operator is shown names no token either.
	status, err := tokens.Status(ctx)
	if err != nil || strings.Contains(fmt.Sprint(status), access) || strings.Contains(fmt.Sprint(status), refresh) {
		t.Fatalf("status %+v, %v", status, err)
	}
}

// TestZaloWithoutRefreshToken: before an operator stores one, a message waits with an
// error that says what to do.
func TestZaloWithoutRefreshToken(t *testing.T) {
	w := newZaloWorld(t)
	tokens := w.process(t)
	if _, err := tokens.Token(context.Background()); !errors.Is(err, notify.ErrNoZaloToken) {
		t.Fatalf("no token stored: %v", err)
	}
	if err := w.zns(tokens).Send(context.Background(), zaloNotice); !errors.Is(err, notify.ErrNoZaloToken) || errors.As(err, new(notify.Refused)) {
		t.Fatalf("send with no token stored: %v", err)
	}
	if err := tokens.Replace(context.Background(), ""); err == nil {
		t.Fatal("an empty refresh token was stored")
	}
}

func storedZaloRow(t *testing.T, url string) string {
	t.Helper()
	return storedZaloColumn(t, url, "zalo_tokens::text")
}

func storedZaloColumn(t *testing.T, url, column string) string {
	t.Helper()
	db, err := storage.Open(context.Background(), url, storage.PoolConfig{MaxOpenConns: 1}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var value string
	if err := db.SQL().QueryRow("SELECT " + column + " FROM zalo_tokens").Scan(&value); err != nil {
		t.Fatal(err)
	}
	return value
}
