package api

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
