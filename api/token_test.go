package api

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"courierd/domain/auth"
)

// TestParserPinsTheAlgorithm checks the pin itself: a token in another algorithm is
// refused for its algorithm, before any key is tried. Without WithValidMethods the same
// token would get as far as the key and fail there instead.
func TestParserPinsTheAlgorithm(t *testing.T) {
	keys, err := EphemeralKeySet()
	if err != nil {
		t.Fatal(err)
	}
	tok := &tokens{keys: keys, ttl: time.Minute, now: time.Now}
	now := time.Now()
	for _, method := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS512} {
		forged := jwt.NewWithClaims(method, jwt.MapClaims{"iss": tokenIssuer, "aud": staffAudience, "sub": "00000000-0000-0000-0000-000000000000",
			"sid": "00000000-0000-0000-0000-000000000000", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
		forged.Header["kid"], forged.Header["typ"] = keys.signingKID, accessTokenType
		raw, err := forged.SignedString([]byte("any secret"))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = tok.parse(raw, staffAudience)
		if err == nil || !strings.Contains(err.Error(), "signing method "+method.Alg()+" is invalid") {
			t.Fatalf("%s token: %v; want it refused by the algorithm pin", method.Alg(), err)
		}
	}
}

// TestVerifiedTokensExpire: a token verified once is answered from memory, but never
// past its expiry, nor before it is valid, nor for another audience.
func TestVerifiedTokensExpire(t *testing.T) {
	keys, err := EphemeralKeySet()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	tok := &tokens{keys: keys, ttl: 10 * time.Minute, now: func() time.Time { return now }}
	p := auth.Principal{AccountID: uuid.New(), SessionID: uuid.New(), Role: auth.RoleCourier, CourierID: uuid.New()}
	raw, err := tok.issue(auth.Session{Principal: p, IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at       time.Duration
		audience string
		ok       bool
	}{
		{-time.Minute, staffAudience, false}, // before it was issued (beyond the leeway)
		{0, staffAudience, true},
		{time.Minute, staffAudience, true},    // from memory
		{time.Minute, citizenAudience, false}, // a staff token is not a citizen's
		{10*time.Minute + clockLeeway, staffAudience, false},
		{time.Minute, staffAudience, true}, // the clock back: verified again
		{11 * time.Minute, staffAudience, false},
	} {
		now = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).Add(step.at)
		got, _, err := tok.verify(raw, step.audience)
		if (err == nil) != step.ok {
			t.Fatalf("at +%s for %s: error %v, want accepted %v", step.at, step.audience, err, step.ok)
		}
		if err == nil && got.CourierID != p.CourierID {
			t.Fatalf("at +%s: principal %+v, want courier %s", step.at, got, p.CourierID)
		}
	}
}
