package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"courierd/domain/notify"
	"courierd/domain/pii"
	"courierd/storage"
	"courierd/storage/outbound/messaging"
)

// zaloTokens is where Zalo messages take their access token from: the database, where
// courierd refreshes it, when ZALO_APP_ID is set; else ZNS_ACCESS_TOKEN as it is, which
// keeps an older configuration working until that token expires.
func zaloTokens(ctx context.Context, s Settings, db *storage.DB, keys *pii.Keyring, log *slog.Logger) (messaging.AccessTokens, error) {
	switch {
	case s.ZaloAppID != "":
		tokens, err := zaloTokenStore(s, db, keys)
		if err != nil {
			return nil, err
		}
		if _, err := tokens.Status(ctx); errors.Is(err, notify.ErrNoZaloToken) {
			log.Warn("no Zalo refresh token is stored: Zalo notices wait and retry until one is set with `courierd zalo-token set`")
		} else if err != nil {
			return nil, err
		}
		return tokens, nil
	case s.ZNSToken != "":
		log.Warn("ZNS_ACCESS_TOKEN is a fixed Zalo access token: it expires within about a day, and Zalo notices are refused after that; set ZALO_APP_ID and ZALO_APP_SECRET so that courierd refreshes it")
		return messaging.FixedToken(s.ZNSToken), nil
	}
	return nil, errors.New("NOTIFY_CHANNEL sends Zalo messages: set ZALO_APP_ID and ZALO_APP_SECRET and store the refresh token with `courierd zalo-token set` (or, until it expires, ZNS_ACCESS_TOKEN)")
}

// zaloRefreshed is when the Zalo OA's tokens were last stored: 0 when none is. Tokens are
// refreshed when messages go out, about daily; a refresh token unused for about three
// months dies, and with it every Zalo notice (deploy/alerts.yaml watches the age).
func zaloRefreshed(store *storage.ZaloTokenStore, app string, log *slog.Logger) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "courierd_zalo_tokens_refreshed_timestamp_seconds",
		Help: "When the Zalo Official Account's tokens were last refreshed or stored (Unix time; 0: none stored)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		tokens, err := store.StoredZaloTokens(ctx, app)
		switch {
		case errors.Is(err, notify.ErrNoZaloToken):
			return 0
		case err != nil:
			log.Warn("Zalo token age unread", "error", err.Error())
			return math.NaN()
		}
		return float64(tokens.UpdatedAt.Unix())
	})
}

func zaloTokenStore(s Settings, db *storage.DB, keys *pii.Keyring) (*notify.ZaloTokens, error) {
	if s.ZaloAppID == "" || s.ZaloAppSecret == "" {
		return nil, errors.New("the Zalo tokens need ZALO_APP_ID and ZALO_APP_SECRET")
	}
	oauth := messaging.ZaloOAuth{URL: s.ZaloOAuthURL, AppID: s.ZaloAppID, Secret: s.ZaloAppSecret}
	return notify.NewZaloTokens(storage.NewZaloTokenStore(db), keys, s.ZaloAppID, oauth.Refresh, s.ZaloRefreshMargin, time.Now), nil
}

// ZaloToken runs `courierd zalo-token set` (the refresh token is read from in, so that it
// stays out of the environment, process listings and shell history) and `zalo-token
// status` (when the tokens were refreshed; never the tokens).
func ZaloToken(ctx context.Context, s Settings, args []string, in io.Reader, out io.Writer, log *slog.Logger) error {
	if len(args) != 1 || (args[0] != "set" && args[0] != "status") {
		return errors.New("usage: courierd zalo-token set|status (set reads the refresh token from standard input)")
	}
	db, _, err := Connect(ctx, s, true)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, _, err := loadDataKeys(s, log)
	if err != nil {
		return err
	}
	tokens, err := zaloTokenStore(s, db, keys)
	if err != nil {
		return err
	}
	if args[0] == "set" {
		line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := tokens.Replace(ctx, strings.TrimSpace(line)); err != nil {
			return err
		}
		fmt.Fprintf(out, "stored the refresh token of Zalo app %s, sealed; the next Zalo message refreshes the access token with it\n", s.ZaloAppID)
		return nil
	}
	status, err := tokens.Status(ctx)
	if err != nil {
		return err
	}
	expires := "none yet"
	if !status.AccessExpiresAt.IsZero() {
		expires = status.AccessExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(out, "Zalo app %s: tokens stored %s (version %d); access token expires %s; the refresh token lasts about 3 months from then\n",
		status.AppID, status.UpdatedAt.Format(time.RFC3339), status.Version, expires)
	return nil
}
