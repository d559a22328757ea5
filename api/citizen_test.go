package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/storage"
)

var loggedCode = regexp.MustCompile(`"msg":"one-time code \(development sender\)","phone":"([^"]+)","code":"(\d{6})"`)

// lastCode is the newest one-time code the development sender logged.
func (h *harness) lastCode(t testing.TB) string {
	t.Helper()
	all := loggedCode.FindAllStringSubmatch(h.log.String(), -1)
	if len(all) == 0 {
		t.Fatal("no one-time code was sent")
	}
	return all[len(all)-1][2]
}

func (h *harness) codesSent() int { return len(loggedCode.FindAllString(h.log.String(), -1)) }

func (c client) requestCode(t testing.TB, receipt, phone string) reply {
	t.Helper()
	return c.do(t, http.MethodPost, "/v1/citizen/otp", fmt.Sprintf(`{"receipt_code":%q,"phone":%q}`, receipt, phone))
}

func (c client) verify(t testing.TB, challenge, code string) reply {
	t.Helper()
	return c.do(t, http.MethodPost, "/v1/citizen/otp/verify", fmt.Sprintf(`{"challenge_id":%q,"code":%q}`, challenge, code))
}

func TestCitizenOneTimeCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	mine := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	other := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(func(f map[string]string) { f["phone"] = "0987000111" })).body
	anon := h.as("")

	asked := anon.requestCode(t, mine["receipt_code"].(string), "+84913456789")
	if asked.status != http.StatusAccepted || asked.body["expires_in"] != float64(300) {
		t.Fatalf("request: %d %s", asked.status, asked.raw)
	}
	if logs := h.log.String(); strings.Contains(logs, "0913456789") || !strings.Contains(logs, `"phone":"09******89"`) {
		t.Fatal("the phone must appear masked in the log")
	}
	code := h.lastCode(t)
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	wantProblem(t, anon.verify(t, asked.body["challenge_id"].(string), wrong), http.StatusUnauthorized, "UNAUTHENTICATED")
	ok := anon.verify(t, asked.body["challenge_id"].(string), code)
	if ok.status != http.StatusOK {
		t.Fatalf("verify: %d %s", ok.status, ok.raw)
	}
	citizen := anon.bearer(ok.body["access_token"].(string))

	t.Run("sees only their dossiers", func(t *testing.T) {
		list := citizen.do(t, http.MethodGet, "/v1/citizen/dossiers", "")
		if list.body["total"] != float64(1) || strings.Contains(list.raw, "074190001234") || !strings.Contains(list.raw, "*********234") {
			t.Fatalf("own dossiers: %s", list.raw)
		}
		if r := citizen.do(t, http.MethodGet, "/v1/citizen/dossiers/"+mine["id"].(string), ""); r.status != http.StatusOK {
			t.Fatalf("own dossier: %d", r.status)
		}
		wantProblem(t, citizen.do(t, http.MethodGet, "/v1/citizen/dossiers/"+other["id"].(string), ""), http.StatusNotFound, "NOT_FOUND")
		wantProblem(t, citizen.do(t, http.MethodGet, "/v1/citizen/dossiers/"+other["id"].(string)+"/timeline", ""), http.StatusNotFound, "NOT_FOUND")
	})
	t.Run("a timeline in plain words, in two languages", func(t *testing.T) {
		vi := citizen.do(t, http.MethodGet, "/v1/citizen/dossiers/"+mine["id"].(string)+"/timeline", "")
		en := citizen.do(t, http.MethodGet, "/v1/citizen/dossiers/"+mine["id"].(string)+"/timeline?lang=en", "")
		next := en.body["next"].(map[string]any)
		if !strings.Contains(vi.raw, "Hồ sơ đã được tiếp nhận") || !strings.Contains(en.raw, "Your application was registered") ||
			next["by"] != mine["pickup_due"] || !strings.Contains(next["text"].(string), "collect your papers") {
			t.Fatalf("timeline:\n%s\n%s", vi.raw, en.raw)
		}
	})
	t.Run("token kinds do not cross", func(t *testing.T) {
		wantProblem(t, citizen.do(t, http.MethodGet, "/v1/procedures", ""), http.StatusUnauthorized, "UNAUTHENTICATED")
		wantProblem(t, citizen.do(t, http.MethodGet, "/v1/dossiers/"+mine["id"].(string), ""), http.StatusUnauthorized, "UNAUTHENTICATED")
		wantProblem(t, h.as("admin").do(t, http.MethodGet, "/v1/citizen/dossiers", ""), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
	t.Run("a code works once", func(t *testing.T) {
		wantProblem(t, anon.verify(t, asked.body["challenge_id"].(string), code), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
	t.Run("a wrong pairing answers alike and sends nothing", func(t *testing.T) {
		before := h.codesSent()
		fake := anon.requestCode(t, other["receipt_code"].(string), "0913456780")
		if fake.status != http.StatusAccepted || fake.body["expires_in"] != float64(300) || fake.body["challenge_id"] == "" {
			t.Fatalf("mismatch answered %d %s", fake.status, fake.raw)
		}
		if h.codesSent() != before {
			t.Fatal("a code went to a phone that is not the dossier's")
		}
		wantProblem(t, anon.verify(t, fake.body["challenge_id"].(string), "000000"), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
	t.Run("a mistyped receipt code is caught before any lookup", func(t *testing.T) {
		bad := mine["receipt_code"].(string)
		bad = bad[:len(bad)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(bad, "0")]
		wantProblem(t, anon.requestCode(t, bad, "0913456789"), http.StatusBadRequest, "BAD_RECEIPT_CODE")
	})
}

func TestCitizenCodeLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	d := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	anon := h.as("")
	first := anon.requestCode(t, d["receipt_code"].(string), "0913456789")
	code := h.lastCode(t)

	t.Run("one send a minute per phone", func(t *testing.T) {
		r := anon.requestCode(t, d["receipt_code"].(string), "0913456789")
		wantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	})
	t.Run("five wrong tries kill a code", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			wantProblem(t, anon.verify(t, first.body["challenge_id"].(string), fmt.Sprintf("%06d", (atoi(code)+1+i)%1_000_000)), http.StatusUnauthorized, "UNAUTHENTICATED")
		}
		wantProblem(t, anon.verify(t, first.body["challenge_id"].(string), code), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
	t.Run("twenty requests a day per address", func(t *testing.T) {
		for i := 1; i < 19; i++ { // the first send and the refused second above count too
			if r := anon.requestCode(t, d["receipt_code"].(string), fmt.Sprintf("09120000%02d", i)); r.status != http.StatusAccepted {
				t.Fatalf("send %d: %d %s", i+1, r.status, r.raw)
			}
		}
		wantProblem(t, anon.requestCode(t, d["receipt_code"].(string), "0912000099"), http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
	})
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// sentCodes records codes instead of sending them.
type sentCodes []string

func (s *sentCodes) SendCode(_ context.Context, _, code string) error {
	*s = append(*s, code)
	return nil
}

func TestCitizenCodeExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	d := h.as("clerk").do(t, http.MethodPost, "/v1/dossiers", h.dossierBody(nil)).body
	receipt := strings.ReplaceAll(d["receipt_code"].(string), "-", "")
	now := time.Now()
	var sent sentCodes
	citizens := auth.NewCitizens(storage.NewAuthStore(h.db), storage.NewDossierStore(h.db, nil), &sent,
		func(s string) string { return "index:" + s }, auth.DefaultOTP, func() time.Time { return now }, uuid.New)
	ctx := context.Background()
	id, err := citizens.RequestCode(ctx, receipt, "0913456789", "198.51.100.7")
	if err != nil || len(sent) != 1 {
		t.Fatalf("request: %v, %d sent", err, len(sent))
	}
	now = now.Add(auth.DefaultOTP.TTL + time.Second)
	if _, _, err := citizens.VerifyCode(ctx, id, sent[0]); domain.ErrorCode(err) != domain.CodeUnauthenticated {
		t.Fatalf("an expired code: %v", err)
	}
	now = now.Add(2 * time.Minute) // the per-minute send limit is over: a new code works
	id, err = citizens.RequestCode(ctx, receipt, "0913456789", "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := citizens.VerifyCode(ctx, id, sent[1]); err != nil || p.PhoneIndex != "index:0913456789" {
		t.Fatalf("a fresh code: %+v, %v", p, err)
	}
}
