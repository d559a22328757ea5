package api_test

import (
	"net/http"
	"testing"
)

const handheld = `{"device_id":"android-7f3a9c21e4b0","model":"Samsung Galaxy XCover 7","os":"Android 14","app_version":"1.4.2"}`

func TestDeviceBinding(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const key = "android-7f3a9c21e4b0"

	reg := h.as("courier01").do(t, http.MethodPost, "/v1/devices", handheld)
	if reg.status != http.StatusOK || reg.body["device_id"] != key {
		t.Fatalf("register: %d %s", reg.status, reg.raw)
	}
	deviceID := reg.body["id"].(string)
	if again := h.as("courier01").do(t, http.MethodPost, "/v1/devices", handheld); again.body["id"] != deviceID {
		t.Fatalf("registering the same handheld again must be idempotent: %s", again.raw)
	}
	s := h.login(t, `{"username":"courier01","password":"`+testPassword+`","device_id":"`+key+`"}`)
	device := func(appVersion string, headers ...string) reply {
		c := h.as("").bearer(s.access).with("X-App-Version", appVersion)
		for i := 0; i+1 < len(headers); i += 2 {
			c = c.with(headers[i], headers[i+1])
		}
		return c.do(t, http.MethodGet, "/v1/device/session", "")
	}

	t.Run("from the bound device", func(t *testing.T) {
		if r := device("1.4.2", "X-Device-ID", key); r.status != http.StatusOK || r.body["device_id"] != key {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
	t.Run("without or with another device id", func(t *testing.T) {
		wantProblem(t, device("1.4.2"), http.StatusUnauthorized, "UNAUTHENTICATED")
		wantProblem(t, device("1.4.2", "X-Device-ID", "android-someone-else"), http.StatusUnauthorized, "UNAUTHENTICATED")
	})
	t.Run("an app older than the minimum", func(t *testing.T) {
		wantProblem(t, device("1.1.9", "X-Device-ID", key), http.StatusUpgradeRequired, "UPGRADE_REQUIRED")
		wantProblem(t, device("", "X-Device-ID", key), http.StatusUpgradeRequired, "UPGRADE_REQUIRED")
	})
	t.Run("a courier token without a device", func(t *testing.T) {
		wantProblem(t, h.as("courier01").with("X-App-Version", "1.4.2").do(t, http.MethodGet, "/v1/device/session", ""), http.StatusForbidden, "FORBIDDEN")
	})
	t.Run("another courier cannot take the handheld", func(t *testing.T) {
		wantProblem(t, h.as("courier02").do(t, http.MethodPost, "/v1/devices", handheld), http.StatusConflict, "DEVICE_BOUND_ELSEWHERE")
		wantProblem(t, h.as("").do(t, http.MethodPost, "/v1/auth/login", `{"username":"courier02","password":"`+testPassword+`","device_id":"`+key+`"}`),
			http.StatusForbidden, "DEVICE_NOT_BOUND")
	})
	t.Run("an unregistered device cannot log in", func(t *testing.T) {
		wantProblem(t, h.as("").do(t, http.MethodPost, "/v1/auth/login", `{"username":"courier01","password":"`+testPassword+`","device_id":"android-never-seen-1"}`),
			http.StatusForbidden, "DEVICE_NOT_BOUND")
	})
	t.Run("last seen is recorded", func(t *testing.T) {
		r := h.as("courier01").do(t, http.MethodGet, "/v1/devices/"+deviceID, "")
		if r.status != http.StatusOK || r.body["last_seen_at"] == nil || r.body["app_version"] != "1.4.2" {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
	t.Run("revoked by an admin", func(t *testing.T) {
		if r := h.do(t, http.MethodPost, "/v1/devices/"+deviceID+"/revoke", ""); r.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		wantProblem(t, device("1.4.2", "X-Device-ID", key), http.StatusUnauthorized, "UNAUTHENTICATED")
		wantProblem(t, h.refresh(t, s.refresh), http.StatusUnauthorized, "UNAUTHENTICATED")
		wantProblem(t, h.as("").do(t, http.MethodPost, "/v1/auth/login", `{"username":"courier01","password":"`+testPassword+`","device_id":"`+key+`"}`),
			http.StatusForbidden, "DEVICE_NOT_BOUND")
		wantProblem(t, h.as("courier01").do(t, http.MethodPost, "/v1/devices", handheld), http.StatusConflict, "DEVICE_BOUND_ELSEWHERE")
		// The courier's session without a device is another matter and goes on.
		if r := h.as("courier01").do(t, http.MethodGet, "/v1/me", ""); r.status != http.StatusOK {
			t.Fatalf("courier01's own session: %d", r.status)
		}
	})
	t.Run("bad registration", func(t *testing.T) {
		wantProblem(t, h.as("courier03").do(t, http.MethodPost, "/v1/devices", `{"device_id":"x","model":"","os":"Android","app_version":"one"}`),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "device_id", "model", "app_version")
	})
}

// TestObjectScope: within the routes a role may call, each sees only its own records, and
// someone else's answers 404 as if it did not exist.
func TestObjectScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	courierID := map[string]string{}
	for _, a := range h.demo.Accounts {
		if a.CourierID.String() != "00000000-0000-0000-0000-000000000000" {
			courierID[a.Username] = a.CourierID.String()
		}
	}
	office := map[string]string{}
	for _, c := range h.demo.Couriers {
		office[c.ID.String()] = c.PostOfficeID.String()
	}
	dispatcherOffice := h.demo.Accounts[1].PostOfficeIDs[0].String()

	t.Run("couriers see themselves only", func(t *testing.T) {
		if r := h.as("courier01").do(t, http.MethodGet, "/v1/couriers/"+courierID["courier01"], ""); r.status != http.StatusOK {
			t.Fatalf("own record: %d", r.status)
		}
		wantProblem(t, h.as("courier01").do(t, http.MethodGet, "/v1/couriers/"+courierID["courier02"], ""), http.StatusNotFound, "NOT_FOUND")
		if r := h.as("courier01").do(t, http.MethodGet, "/v1/couriers", ""); r.body["total"] != float64(1) {
			t.Fatalf("a courier's list: %s", r.raw)
		}
	})
	t.Run("dispatchers see their post offices' couriers", func(t *testing.T) {
		r := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers?limit=100", "")
		mine := 0
		for _, c := range h.demo.Couriers {
			if c.PostOfficeID.String() == dispatcherOffice {
				mine++
			}
		}
		if r.body["total"] != float64(mine) || mine == 0 || mine == len(h.demo.Couriers) {
			t.Fatalf("dispatcher's list: total %v, want %d", r.body["total"], mine)
		}
		for username, id := range courierID {
			got := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+id, "").status
			want := http.StatusNotFound
			if office[id] == dispatcherOffice {
				want = http.StatusOK
			}
			if got != want {
				t.Errorf("dispatcher reading %s: %d, want %d", username, got, want)
			}
		}
	})
	t.Run("devices", func(t *testing.T) {
		h.as("courier01").do(t, http.MethodPost, "/v1/devices", handheld)
		other := h.as("courier02").do(t, http.MethodPost, "/v1/devices", `{"device_id":"android-courier02-0001","model":"M","os":"Android 13","app_version":"1.3.0"}`)
		if r := h.as("courier01").do(t, http.MethodGet, "/v1/devices", ""); r.body["total"] != float64(1) {
			t.Fatalf("courier01's devices: %s", r.raw)
		}
		wantProblem(t, h.as("courier01").do(t, http.MethodGet, "/v1/devices/"+other.body["id"].(string), ""), http.StatusNotFound, "NOT_FOUND")
		if r := h.do(t, http.MethodGet, "/v1/devices", ""); r.body["total"] != float64(2) {
			t.Fatalf("admin's devices: %s", r.raw)
		}
		seen := h.as("dispatcher").do(t, http.MethodGet, "/v1/devices", "").body["total"]
		want := 0
		for _, u := range []string{"courier01", "courier02"} {
			if office[courierID[u]] == dispatcherOffice {
				want++
			}
		}
		if seen != float64(want) {
			t.Fatalf("dispatcher's devices: %v, want %d", seen, want)
		}
	})
}
