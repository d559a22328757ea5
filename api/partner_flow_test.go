package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	partnerapi "courierd/api/client"
	"courierd/domain/webhook"
)

// checkedDoer sends the generated client's requests over HTTP and holds each one and its
// answer to the API document, as every other call of the tests is.
type checkedDoer struct {
	t testing.TB
	h *harness
}

func (d checkedDoer) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	r := readReply(d.t, resp)
	probe := req.Clone(context.Background())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	checkDocument(d.t, d.h.app, probe, body, r)
	return &http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(strings.NewReader(r.raw)), Request: req}, nil
}

// partnerClient is the generated Go client for base, sending token as its bearer.
func (h *harness) partnerClient(t testing.TB, base, token string) *partnerapi.ClientWithResponses {
	t.Helper()
	opts := []partnerapi.ClientOption{partnerapi.WithHTTPClient(checkedDoer{t: t, h: h})}
	if token != "" {
		opts = append(opts, partnerapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	}
	c, err := partnerapi.NewClientWithResponses(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPartnerFlowThroughGoClient drives a portal's and its bank's whole integration through
// the generated Go client, over HTTP, as docs/PARTNERS.md tells it: an admin registers both,
// each trades its credentials for a token, the portal subscribes a webhook, sends a batch
// of dossiers (and again after a lost answer), reads their status, receives the webhook
// when one reaches the agency, and the bank reports its fees paid.
func TestPartnerFlowThroughGoClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	base := h.listen(t)
	ctx := context.Background()
	admin := h.partnerClient(t, base, h.token(t, "admin"))
	agency := h.agency("Sở Tư pháp").ID.String()
	key := func(s string) *string { return &s }

	register := func(name string, kind partnerapi.NewPartnerClientKind, scopes ...string) (string, string) {
		r, err := admin.PostClientsWithResponse(ctx, &partnerapi.PostClientsParams{IdempotencyKey: key("register-" + string(kind))},
			partnerapi.NewPartnerClient{Name: name, Kind: kind, AgencyId: agency, Scopes: &scopes})
		if err != nil || r.JSON201 == nil || r.JSON201.ClientSecret == nil {
			t.Fatalf("register %s: %v %d %s", name, err, r.StatusCode(), r.Body)
		}
		return r.JSON201.ClientId, *r.JSON201.ClientSecret
	}
	token := func(id, secret string) string {
		r, err := h.partnerClient(t, base, "").PostOauthTokenWithFormdataBodyWithResponse(ctx,
			partnerapi.TokenRequestForm{GrantType: partnerapi.ClientCredentials, ClientId: &id, ClientSecret: &secret})
		if err != nil || r.JSON200 == nil || r.JSON200.AccessToken == "" {
			t.Fatalf("token: %v %d %s", err, r.StatusCode(), r.Body)
		}
		return r.JSON200.AccessToken
	}
	portal := h.partnerClient(t, base, token(register("Cổng dịch vụ công tỉnh", partnerapi.NewPartnerClientKindPortal,
		"dossiers:create", "dossiers:read", "webhooks:manage")))
	bank := h.partnerClient(t, base, token(register("Ngân hàng thu hộ", partnerapi.NewPartnerClientKindBank, "payments:report")))

	// The portal's endpoint, which checks each delivery's signature.
	const secret = "the portal's webhook secret, 32 characters or more"
	var mu sync.Mutex
	delivered := map[string][]string{} // dossier id → events
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		if r.Header.Get(webhook.HeaderSignature) != webhook.Sign([]byte(secret), ts, body) {
			t.Errorf("a delivery with a bad signature: %v", r.Header)
		}
		var event struct {
			Event     string `json:"event"`
			DossierID string `json:"dossier_id"`
		}
		_ = json.Unmarshal(body, &event)
		mu.Lock()
		delivered[event.DossierID] = append(delivered[event.DossierID], event.Event)
		mu.Unlock()
	}))
	defer endpoint.Close()
	sub, err := portal.PostWebhooksSubscribersWithResponse(ctx, &partnerapi.PostWebhooksSubscribersParams{IdempotencyKey: key("subscribe")},
		partnerapi.NewSubscriber{Name: "Cổng dịch vụ công tỉnh", Url: endpoint.URL, Secret: secret, Events: &[]string{"hand_to_agency"}})
	if err != nil || sub.JSON201 == nil || sub.JSON201.AgencyId == nil || *sub.JSON201.AgencyId != agency {
		t.Fatalf("subscribe: %v %d %s", err, sub.StatusCode(), sub.Body)
	}

	// A batch of the portal's dossiers, each with its own reference.
	const n = 6
	items := make([]partnerapi.BatchItem, n)
	for i := range items {
		if err := json.Unmarshal([]byte(h.dossierBody(nil)), &items[i]); err != nil {
			t.Fatal(err)
		}
		items[i].PortalRef = key(fmt.Sprintf("DVC-2026-%06d", i))
	}
	send := func(idempotencyKey string) partnerapi.BatchResults {
		r, err := portal.PostDossiersBatchWithResponse(ctx, &partnerapi.PostDossiersBatchParams{IdempotencyKey: &idempotencyKey},
			partnerapi.Batch{Dossiers: &items})
		if err != nil || r.JSON200 == nil || r.JSON200.Results == nil || len(*r.JSON200.Results) != n {
			t.Fatalf("batch: %v %d %s", err, r.StatusCode(), r.Body)
		}
		return *r.JSON200
	}
	first := send("backlog-1")
	if first.Created != n {
		t.Fatalf("batch: %d of %d created: %+v", first.Created, n, first.Results)
	}
	// The answer was lost; the portal sends the batch again under a new key: all known.
	again := send("backlog-1-again")
	ids := make([]string, n)
	for i, res := range *first.Results {
		ids[i] = *res.Id
		if other := (*again.Results)[i]; other.Status != partnerapi.BatchResultStatusKnown || *other.Id != ids[i] {
			t.Fatalf("item %d sent again: %+v", i, other)
		}
	}

	// Status: the portal reads each dossier it sent.
	dossiers := make([]partnerapi.Dossier, n)
	for i, id := range ids {
		r, err := portal.GetDossiersKeyWithResponse(ctx, id)
		if err != nil || r.JSON200 == nil || r.JSON200.Id != id || r.JSON200.ReceiptCode != *(*first.Results)[i].ReceiptCode {
			t.Fatalf("status of %s: %v %d %s", id, err, r.StatusCode(), r.Body)
		}
		dossiers[i] = *r.JSON200
	}

	// The first dossier is picked up and handed to the agency: the portal hears of it.
	h.startWorkers(t)
	h.mustEvent(t, "dispatcher", ids[0], `{"event":"assign_pickup","courier_id":"`+h.courierOf("courier01")+`"}`, "assigned")
	h.mustEvent(t, "dispatcher", ids[0], `{"event":"pick_up"}`, "picked_up")
	h.mustEvent(t, "dispatcher", ids[0], `{"event":"hand_to_agency"}`, "handed_to_agency")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		got := strings.Join(delivered[ids[0]], ",")
		mu.Unlock()
		if got == "hand_to_agency" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the portal heard %q of its dossier in 20 s, want hand_to_agency", got)
		}
	}
	log, err := portal.GetWebhooksSubscribersKeyDeliveriesWithResponse(ctx, sub.JSON201.Id, nil)
	if err != nil || log.JSON200 == nil || log.JSON200.Items == nil || len(*log.JSON200.Items) == 0 {
		t.Fatalf("deliveries: %v %d %s", err, log.StatusCode(), log.Body)
	}

	// The bank reports the applicant's transfer for the second dossier, once.
	due := dossiers[1].DueVnd
	transfer := partnerapi.PaymentCallback{TransactionId: "FT26340000001", Reference: "HS " + strings.ReplaceAll(dossiers[1].ReceiptCode, "-", ""),
		AmountVnd: due, PaidAt: time.Now().UTC().Truncate(time.Second)}
	paid, err := bank.PostPaymentsWithResponse(ctx, &partnerapi.PostPaymentsParams{IdempotencyKey: key("FT26340000001")}, transfer)
	if err != nil || paid.JSON201 == nil || paid.JSON201.DossierId != ids[1] || paid.JSON201.AmountVnd != due {
		t.Fatalf("payment: %v %d %s", err, paid.StatusCode(), paid.Body)
	}
	// Reported again (the bank's retry, under another key): the same payment.
	repeat, err := bank.PostPaymentsWithResponse(ctx, &partnerapi.PostPaymentsParams{IdempotencyKey: key("FT26340000001-retry")}, transfer)
	if err != nil || repeat.JSON200 == nil || repeat.JSON200.Id != paid.JSON201.Id {
		t.Fatalf("payment reported again: %v %d %s", err, repeat.StatusCode(), repeat.Body)
	}
	// What each client may not do is refused through the client too.
	if r, err := bank.GetDossiersKeyWithResponse(ctx, ids[1]); err != nil || r.StatusCode() != http.StatusForbidden || r.ApplicationproblemJSON4XX == nil {
		t.Fatalf("the bank reads a dossier: %v %d %s", err, r.StatusCode(), r.Body)
	}
	t.Logf("partner flow: %d dossiers created, %d known on resend, 1 webhook delivered, payment %v recorded once", first.Created, again.Known, paid.JSON201.Id)
}
