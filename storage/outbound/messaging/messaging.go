// Package messaging holds the channels that carry notices to applicants: an SMS gateway
// over HTTP and Zalo's template messages (ZNS). Both send to the phone in the message and
// never write it, or the text, to a log.
package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"courierd/domain/dossier"
	"courierd/domain/notify"
)

// international writes a Vietnamese mobile number as 84…, the form gateways take.
func international(phone string) string {
	return "84" + strings.TrimPrefix(phone, "0")
}

// post sends body as JSON and decodes the answer into out.
func post(ctx context.Context, client *http.Client, url string, headers map[string]string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return exchange(client, req, out)
}

// exchange sends req and decodes the answer into out; 5xx, 429 and network errors are
// temporary (the job retries), other 4xx a refusal.
func exchange(client *http.Client, req *http.Request, out any) error {
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("messaging: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("messaging: the gateway answered HTTP %d; will retry", resp.StatusCode)
	case resp.StatusCode >= 400:
		return notify.Refused{Reason: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	if out != nil && len(answer) > 0 {
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("messaging: an unreadable answer: %w", err)
		}
	}
	return nil
}

// SMS sends notices as text through an HTTP gateway: a POST of
// {"to","from","text","ref"} with a bearer token; any 2xx is sent.
type SMS struct {
	URL, Token string
	// From is the registered brand name the message shows as its sender.
	From   string
	Client *http.Client
}

func (s SMS) Send(ctx context.Context, m notify.Message) error {
	return post(ctx, client(s.Client), s.URL, map[string]string{"Authorization": "Bearer " + s.Token},
		map[string]string{"to": international(m.Phone), "from": s.From, "text": m.Text, "ref": m.Ref}, nil)
}

// SendCode sends a citizen's one-time login code by SMS (auth.CodeSender); the gateway
// gets no reference, so that nothing ties the code to a dossier outside courierd. The text
// is unaccented so that it fits one 160-character GSM segment and every handset shows it.
func (s SMS) SendCode(ctx context.Context, phone, code string) error {
	text := fmt.Sprintf("Ma xac thuc tra cuu ho so: %s. Hieu luc 5 phut. Khong cung cap ma nay cho bat ky ai.", code)
	return post(ctx, client(s.Client), s.URL, map[string]string{"Authorization": "Bearer " + s.Token},
		map[string]string{"to": international(phone), "from": s.From, "text": text}, nil)
}

// ZNS sends notices as Zalo template messages: each notice has a template registered with
// Zalo (its id in Templates) whose parameters the message's Params fill. A notice without
// a template is refused, so a fallback channel can take it.
type ZNS struct {
	URL       string // https://business.openapi.zalo.me/message/template
	Tokens    AccessTokens
	Templates map[dossier.Notice]string
	Client    *http.Client
}

// AccessTokens gives the Official Account's access token (notify.ZaloTokens keeps it
// refreshed in the database).
type AccessTokens interface {
	Token(ctx context.Context) (string, error)
	// Refresh returns a token other than stale, which Zalo refused.
	Refresh(ctx context.Context, stale string) (string, error)
}

// FixedToken is an access token set by hand (ZNS_ACCESS_TOKEN): it cannot be refreshed,
// so once Zalo refuses it every message is refused, and falls back to SMS where it may.
type FixedToken string

func (t FixedToken) Token(context.Context) (string, error) { return string(t), nil }

func (t FixedToken) Refresh(context.Context, string) (string, error) {
	return "", notify.Refused{Reason: "Zalo refused the access token and ZNS_ACCESS_TOKEN cannot be refreshed"}
}

// znsAnswer is Zalo's reply: error 0 is success.
type znsAnswer struct {
	Error   int    `json:"error"`
	Message string `json:"message"`
}

// tokenRefused tells Zalo's answers that refuse the access token rather than the message:
// -124 (access token invalid or expired) and -216 (access token invalid).
func (a znsAnswer) tokenRefused() bool { return a.Error == -124 || a.Error == -216 }

func (z ZNS) Send(ctx context.Context, m notify.Message) error {
	template, ok := z.Templates[m.Notice]
	if !ok {
		return notify.Refused{Reason: "no Zalo template for " + string(m.Notice)}
	}
	body := map[string]any{"phone": international(m.Phone), "template_id": template, "template_data": m.Params, "tracking_id": m.Ref}
	token, err := z.Tokens.Token(ctx)
	if err != nil {
		return err
	}
	answer, err := z.send(ctx, token, body)
	if err == nil && answer.tokenRefused() {
		if token, err = z.Tokens.Refresh(ctx, token); err != nil {
			return err
		}
		answer, err = z.send(ctx, token, body)
	}
	switch {
	case err != nil:
		return err
	case answer.tokenRefused():
		// A token just refreshed refused too: the app's access to the Official Account is
		// at fault, not the message; the job retries while an operator looks.
		return fmt.Errorf("messaging: Zalo refused a freshly refreshed access token (error %d: %s); will retry", answer.Error, answer.Message)
	case answer.Error != 0:
		// Other negative codes are Zalo's refusals of this message (a phone without Zalo, a
		// template not approved); they will not change on a retry.
		return notify.Refused{Reason: fmt.Sprintf("Zalo error %d: %s", answer.Error, answer.Message)}
	}
	return nil
}

func (z ZNS) send(ctx context.Context, token string, body map[string]any) (znsAnswer, error) {
	var answer znsAnswer
	err := post(ctx, client(z.Client), z.URL, map[string]string{"access_token": token}, body, &answer)
	return answer, err
}

// Fallback sends through First and, when it refuses the message for good, through Then:
// Zalo first, SMS for applicants without Zalo. An applicant who prefers one of the two
// gets that one only.
type Fallback struct {
	First, Then notify.Channel
	// FirstIs and ThenIs name the two channels, to match the applicant's preference.
	FirstIs, ThenIs dossier.ChannelPreference
}

func (f Fallback) Send(ctx context.Context, m notify.Message) error {
	switch {
	case m.Prefer == "" || m.Prefer == dossier.PreferAny:
	case m.Prefer == f.FirstIs:
		return f.First.Send(ctx, m)
	case m.Prefer == f.ThenIs:
		return f.Then.Send(ctx, m)
	}
	err := f.First.Send(ctx, m)
	if errors.As(err, new(notify.Refused)) {
		return f.Then.Send(ctx, m)
	}
	return err
}

func client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 15 * time.Second}
}
