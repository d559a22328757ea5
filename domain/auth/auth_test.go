package auth_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/auth"
)

// A verification waits while as many run as there are cores: each holds 19 MiB, and a
// login storm must not hold that per request.
func TestPasswordDerivationsAreBounded(t *testing.T) {
	hash, err := auth.HashPassword("correct horse battery", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	release := auth.HoldDerivations()
	done := make(chan bool, 1)
	go func() {
		ok, _ := auth.VerifyPassword(hash, "correct horse battery")
		done <- ok
	}()
	select {
	case <-done:
		release()
		t.Fatal("a verification ran while every derivation slot was taken")
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("the right password did not verify once a slot was free")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the verification did not run once the slots were free")
	}
}

func TestPasswordHash(t *testing.T) {
	hash, err := auth.HashPassword("correct horse battery", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not an argon2id PHC string: %s", hash)
	}
	other, _ := auth.HashPassword("correct horse battery", rand.Reader)
	if other == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	cases := map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false}
	for pw, want := range cases {
		if ok, err := auth.VerifyPassword(hash, pw); err != nil || ok != want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, broken := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", hash[:len(hash)-50] + "!!"} {
		if _, err := auth.VerifyPassword(broken, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", broken)
		}
	}
}

func TestRevocationList(t *testing.T) {
	l := auth.NewRevocationList()
	account, device, session := uuid.New(), uuid.New(), uuid.New()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	p := auth.Principal{AccountID: account, DeviceID: device, SessionID: session}
	if l.Revoked(p, at) {
		t.Fatal("an empty list revokes")
	}
	for _, kind := range []auth.RevocationKind{auth.RevokeAccount, auth.RevokeDevice, auth.RevokeSession} {
		subject := map[auth.RevocationKind]uuid.UUID{auth.RevokeAccount: account, auth.RevokeDevice: device, auth.RevokeSession: session}[kind]
		l.Replace([]auth.Revocation{{Kind: kind, Subject: subject, At: at, Until: at.Add(time.Hour)}})
		if !l.Revoked(p, at.Add(-time.Minute)) || !l.Revoked(p, at) {
			t.Errorf("%s: a token issued before the revocation passes", kind)
		}
		if l.Revoked(p, at.Add(time.Millisecond)) {
			t.Errorf("%s: a token issued after the revocation is refused", kind)
		}
		if l.Revoked(auth.Principal{AccountID: uuid.New(), SessionID: uuid.New()}, at.Add(-time.Minute)) {
			t.Errorf("%s: someone else's token is refused", kind)
		}
	}
	l.Replace(nil)
	l.Add(auth.Revocation{Kind: auth.RevokeSession, Subject: session, At: at})
	l.Add(auth.Revocation{Kind: auth.RevokeSession, Subject: session, At: at.Add(-time.Hour)}) // older: ignored
	if !l.Revoked(p, at.Add(-time.Minute)) {
		t.Fatal("Add of an older revocation replaced a newer one")
	}
}

func TestAppVersions(t *testing.T) {
	cases := []struct {
		version, min string
		older        bool
	}{
		{"1.4.2", "1.4.0", false}, {"1.4.0", "1.4.0", false}, {"1.3.9", "1.4.0", true},
		{"1.10.0", "1.9.0", false}, {"", "1.0.0", true}, {"garbage", "1.0.0", true}, {"0.1.0", "", false},
	}
	for _, c := range cases {
		if got := auth.OlderThan(c.version, c.min); got != c.older {
			t.Errorf("OlderThan(%q, %q) = %v", c.version, c.min, got)
		}
	}
}

func TestAccountValidate(t *testing.T) {
	office := uuid.New()
	valid := []auth.Account{
		{Username: "admin", Role: auth.RoleAdmin},
		{Username: "dispatcher.tdm", Role: auth.RoleDispatcher, PostOfficeIDs: []uuid.UUID{office}},
		{Username: "courier01", Role: auth.RoleCourier, CourierID: uuid.New()},
		{Username: "clerk", Role: auth.RoleClerk, AgencyID: uuid.New()},
	}
	for _, a := range valid {
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", a.Username, err)
		}
	}
	invalid := []auth.Account{
		{Username: "Admin", Role: auth.RoleAdmin},
		{Username: "ad", Role: auth.RoleAdmin},
		{Username: "citizen", Role: auth.RoleCitizen},
		{Username: "dispatcher", Role: auth.RoleDispatcher},
		{Username: "courier", Role: auth.RoleCourier},
		{Username: "admin2", Role: auth.RoleAdmin, CourierID: uuid.New()},
		{Username: "clerk2", Role: auth.RoleClerk, AgencyID: uuid.New(), PostOfficeIDs: []uuid.UUID{office}},
	}
	for _, a := range invalid {
		if err := a.Validate(); err == nil {
			t.Errorf("%+v passed validation", a)
		}
	}
}
