package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"courierd/domain/auth"
	"courierd/storage"
)

// CreateAdmin runs `courierd admin create USERNAME`: the first administrator of a new
// installation, who then creates every other account through the API. The password is
// read from in, so that it stays out of the environment, process listings and shell
// history; it must pass the same strength check as any other.
func CreateAdmin(ctx context.Context, s Settings, args []string, in io.Reader, out io.Writer) error {
	if len(args) != 2 || args[0] != "create" {
		return errors.New("usage: courierd admin create USERNAME (the password is read from standard input)")
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	db, _, err := Connect(ctx, s, true)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts, err := auth.NewService(storage.NewAuthStore(db), auth.Config{AccessTTL: s.AccessTokenTTL, RefreshTTL: s.RefreshTokenTTL,
		Throttle: auth.DefaultThrottle, MinAppVersion: s.MinAppVersion}, auth.NewRevocationList(), time.Now, rand.Reader, newID)
	if err != nil {
		return err
	}
	operator := auth.System
	operator.Source = "courierd admin create"
	a, err := accounts.CreateAccount(auth.WithPrincipal(ctx, operator), auth.AccountInput{
		Account: auth.Account{Username: args[1], Role: auth.RoleAdmin, Active: true}, Password: strings.TrimRight(line, "\r\n")})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created the administrator %s (%s); log in at POST /v1/auth/login or /console\n", a.Username, a.ID)
	return nil
}
