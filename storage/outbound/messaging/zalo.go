package messaging

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"courierd/domain/notify"
)

// ZaloOAuth refreshes a Zalo Official Account's tokens (OAuth v4): a form POST of app_id,
// grant_type=refresh_token and the refresh token, with the app's secret in a secret_key
// header. Neither token nor the secret ever goes into an error or a log.
type ZaloOAuth struct {
	URL    string // https://oauth.zaloapp.com/v4/oa/access_token
	AppID  string
	Secret string
	Client *http.Client
}

// assumedLifetime is the access token's lifetime when Zalo's answer has tokens but no
// readable expires_in: the refresh token sent is spent by then, so the answer is kept and
// refreshed early rather than lost.
const assumedLifetime = time.Hour

// zaloGrant is Zalo's answer: the tokens, or an error. expires_in comes as a string of
// seconds in Zalo's answers, as a number in some: it is read as either.
type zaloGrant struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	ExpiresIn        any    `json:"expires_in"`
	Error            any    `json:"error"`
	ErrorName        string `json:"error_name"`
	ErrorDescription string `json:"error_description"`
	Message          string `json:"message"`
}

func (g zaloGrant) lifetime() time.Duration {
	var seconds float64
	switch v := g.ExpiresIn.(type) {
	case float64:
		seconds = v
	case string:
		seconds, _ = strconv.ParseFloat(v, 64)
	}
	if seconds <= 0 {
		return assumedLifetime
	}
	return time.Duration(seconds * float64(time.Second))
}

// Refresh is a notify.ZaloRefresher. Every failure is temporary (never a
// notify.Refused): the message waits for a token rather than falling back.
func (o ZaloOAuth) Refresh(ctx context.Context, refreshToken string) (access, refresh string, lifetime time.Duration, err error) {
	form := url.Values{"app_id": {o.AppID}, "grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", o.Secret)
	var answer json.RawMessage
	if err := exchange(client(o.Client), req, &answer); err != nil {
		var refused notify.Refused
		if errors.As(err, &refused) {
			return "", "", 0, fmt.Errorf("zalo oauth answered %s", refused.Reason)
		}
		return "", "", 0, err
	}
	// A field of an unexpected type leaves the others read: tokens are kept whatever else
	// the answer holds.
	var grant zaloGrant
	unreadable := json.Unmarshal(answer, &grant)
	switch {
	case grant.AccessToken != "" && grant.RefreshToken != "":
		return grant.AccessToken, grant.RefreshToken, grant.lifetime(), nil
	case unreadable != nil:
		return "", "", 0, fmt.Errorf("zalo oauth: an unreadable answer: %w", unreadable)
	case grant.Error == nil:
		return "", "", 0, errors.New("zalo oauth answered without tokens")
	}
	return "", "", 0, fmt.Errorf("zalo oauth refused the refresh: error %v %s: %s", grant.Error, grant.ErrorName,
		cmp.Or(grant.ErrorDescription, grant.Message))
}
