package main

import (
	"context"
	"strings"
	"testing"

	"courierd/cmd/courierd/app"
	"courierd/domain/auth"
	"courierd/storage"
	"courierd/storage/dbtest"
)

// TestCreateAdmin: a new installation's first administrator is made from the command line,
// the password read from standard input, held to the same rules as any account's, and
// never printed.
func TestCreateAdmin(t *testing.T) {
	ctx := context.Background()
	db, url := dbtest.New(t)
	cfg, err := app.Load(envOf(map[string]string{"DATABASE_URL": url}))
	if err != nil {
		t.Fatal(err)
	}
	create := func(stdin string, args ...string) (string, error) {
		var out strings.Builder
		err := app.CreateAdmin(ctx, cfg, args, strings.NewReader(stdin), &out)
		return out.String(), err
	}
	const password = "chị-Hoa-quản-trị-2026"
	for _, bad := range [][]string{{}, {"create"}, {"delete", "hoa"}, {"create", "hoa", "extra"}} {
		if _, err := create(password+"\n", bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("admin %v: %v", bad, err)
		}
	}
	for _, weak := range []string{"", "\n", "short\n", "12345678\n"} {
		if _, err := create(weak, "create", "hoa"); err == nil || !strings.Contains(err.Error(), "password") {
			t.Errorf("a weak password %q was taken: %v", weak, err)
		}
	}
	if _, err := create(password+"\n", "create", "Not A Name"); err == nil || !strings.Contains(err.Error(), "username") {
		t.Errorf("a bad username was taken: %v", err)
	}
	out, err := create(password+"\n", "create", "hoa.admin")
	if err != nil || !strings.Contains(out, "created the administrator hoa.admin") || strings.Contains(out, password) {
		t.Fatalf("admin create: %v %q", err, out)
	}
	a, err := storage.NewAuthStore(db).AccountByUsername(ctx, "hoa.admin")
	if err != nil || a.Role != auth.RoleAdmin || !a.Active {
		t.Fatalf("the account made: %+v %v", a, err)
	}
	if ok, err := auth.VerifyPassword(a.PasswordHash, password); !ok || err != nil {
		t.Fatalf("the password given does not open the account: %v", err)
	}
	if _, err := create(password+"\n", "create", "hoa.admin"); err == nil {
		t.Fatal("a second account of the same name was made")
	}
}
