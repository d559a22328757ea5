package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	devapi "courierd/mobile-contract/client"
)

// appDoer sends the generated client's requests through the test app as a client, so
// they carry its token and are held to the contract like every other test call.
type appDoer struct {
	t testing.TB
	c client
}

func (d appDoer) Do(req *http.Request) (*http.Response, error) {
	r := d.c.send(d.t, req)
	return &http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(strings.NewReader(r.raw)), Request: req}, nil
}

// deviceClient is the generated contract client, as the named courier's handheld.
func (h *harness) deviceClient(t testing.TB, courier string) (*devapi.ClientWithResponses, devapi.DeviceID) {
	t.Helper()
	c, err := devapi.NewClientWithResponses("http://courierd", devapi.WithHTTPClient(appDoer{t: t, c: h.as(courier + "@device")}))
	if err != nil {
		t.Fatal(err)
	}
	return c, deviceKey(courier + "@device")
}

// TestGeneratedClientDay: a courier's day through the client the device team generates
// from the contract: session, pull, pickup pushed with its signature, breadcrumbs.
func TestGeneratedClientDay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	dev, key := h.deviceClient(t, "courier07")
	version := "1.4.2"

	session, err := dev.DeviceSessionWithResponse(ctx, &devapi.DeviceSessionParams{XDeviceID: key, XAppVersion: &version})
	if err != nil || session.JSON200 == nil || session.JSON200.CourierId.String() != h.courierOf("courier07") {
		t.Fatalf("session: %v %s", err, session.Body)
	}

	dossierID := h.assigned(t, "courier07")
	pulled, err := dev.PullChangesWithResponse(ctx, &devapi.PullChangesParams{XDeviceID: key, XAppVersion: &version})
	if err != nil || pulled.JSON200 == nil || !pulled.JSON200.Reset || len(pulled.JSON200.Changes) != 1 {
		t.Fatalf("first pull: %v %s", err, pulled.Body)
	}
	stop := pulled.JSON200.Changes[0]
	if stop.Data == nil || stop.Data.DossierId.String() != dossierID || stop.Data.Kind != devapi.Pickup || stop.Data.Checklist == nil || len(*stop.Data.Checklist) == 0 {
		t.Fatalf("the pulled stop, with its procedure's checklist: %+v", stop)
	}
	checklist := *stop.Data.Checklist

	signature := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><path d="M1 9 C 8 1, 16 15, 24 4"/></svg>`)
	up, err := dev.PutBlobWithBodyWithResponse(ctx, sha(signature), &devapi.PutBlobParams{XDeviceID: key, XAppVersion: &version}, "image/svg+xml", strings.NewReader(string(signature)))
	if err != nil || up.JSON201 == nil || !up.JSON201.Created {
		t.Fatalf("signature upload: %v %s", err, up.Body)
	}
	signed := sha(signature)
	pushed, err := dev.PushMutationsWithResponse(ctx, &devapi.PushMutationsParams{XDeviceID: key, XAppVersion: &version}, devapi.PushBatch{
		Mutations: []devapi.Mutation{{Seq: 1, Id: uuid.New(), Type: "task.pickup.v1", TaskId: stop.Id, OccurredAt: time.Now().Add(-time.Minute),
			Payload: map[string]any{"signature_sha256": signed, "documents_checked": []string{checklist[0].Name}, "fee_collected_vnd": 50000}}},
	})
	if err != nil || pushed.JSON200 == nil || pushed.JSON200.LastSeq != 1 || pushed.JSON200.Results[0].Status != devapi.Applied {
		t.Fatalf("push: %v %s", err, pushed.Body)
	}

	next, err := dev.PullChangesWithResponse(ctx, &devapi.PullChangesParams{XDeviceID: key, XAppVersion: &version, Cursor: &pulled.JSON200.Cursor})
	if err != nil || next.JSON200 == nil || next.JSON200.LastSeq != 1 || len(next.JSON200.MissingAttachments) != 0 {
		t.Fatalf("pull after the push: %v %s", err, next.Body)
	}

	accuracy := 9.0
	crumbs, err := dev.UploadBreadcrumbsWithResponse(ctx, &devapi.UploadBreadcrumbsParams{XDeviceID: key, XAppVersion: &version}, devapi.UploadBreadcrumbsJSONRequestBody{
		Points: []devapi.Breadcrumb{{Seq: 1, At: time.Now().Add(-time.Minute), Lat: 10.9804, Lon: 106.6519, AccuracyM: &accuracy}},
	})
	if err != nil || crumbs.JSON200 == nil || crumbs.JSON200.Stored != 1 {
		t.Fatalf("breadcrumbs: %v %s", err, crumbs.Body)
	}

	// A gap comes back as the registered problem, typed.
	gap, err := dev.PushMutationsWithResponse(ctx, &devapi.PushMutationsParams{XDeviceID: key, XAppVersion: &version}, devapi.PushBatch{
		Mutations: []devapi.Mutation{{Seq: 5, Id: uuid.New(), Type: "task.fail.v1", TaskId: stop.Id, OccurredAt: time.Now(), Payload: map[string]any{"reason": "other", "note": "x"}}},
	})
	if err != nil || gap.ApplicationproblemJSON409 == nil || gap.ApplicationproblemJSON409.Code != "SEQUENCE_GAP" {
		t.Fatalf("gap: %v %s", err, gap.Body)
	}
}

// viaGeneratedClient rebuilds a device request with the generated client's own request
// builder for its operation, keeping the caller's headers, and returns how the generated
// client reads the answer. Requests no device can build (a limit that is not a number)
// are left as they are: they test the server's refusals.
func viaGeneratedClient(t testing.TB, req *http.Request, body []byte) (*http.Request, func(*http.Response) error, bool) {
	t.Helper()
	const server = "http://courierd"
	device, version := req.Header.Get("X-Device-ID"), req.Header.Get("X-App-Version")
	var appVersion *string
	if version != "" {
		appVersion = &version
	}
	p, method := req.URL.Path, req.Method
	var built *http.Request
	var parse func(*http.Response) error
	var err error
	switch {
	case method == http.MethodGet && p == "/v1/device/session":
		built, err = devapi.NewDeviceSessionRequest(server, &devapi.DeviceSessionParams{XDeviceID: device, XAppVersion: appVersion})
		parse = func(r *http.Response) error { _, err := devapi.ParseDeviceSessionResponse(r); return err }
	case method == http.MethodGet && p == "/v1/device/sync/pull":
		params := &devapi.PullChangesParams{XDeviceID: device, XAppVersion: appVersion}
		q := req.URL.Query()
		if q.Has("cursor") {
			cursor := q.Get("cursor")
			params.Cursor = &cursor
		}
		if q.Has("limit") {
			limit, convErr := strconv.Atoi(q.Get("limit"))
			if convErr != nil {
				return nil, nil, false
			}
			params.Limit = &limit
		}
		built, err = devapi.NewPullChangesRequest(server, params)
		parse = func(r *http.Response) error { _, err := devapi.ParsePullChangesResponse(r); return err }
	case method == http.MethodPost && p == "/v1/device/sync/push":
		built, err = devapi.NewPushMutationsRequestWithBody(server, &devapi.PushMutationsParams{XDeviceID: device, XAppVersion: appVersion},
			req.Header.Get("Content-Type"), bytes.NewReader(body))
		parse = func(r *http.Response) error { _, err := devapi.ParsePushMutationsResponse(r); return err }
	case method == http.MethodPost && p == "/v1/device/locations":
		built, err = devapi.NewUploadBreadcrumbsRequestWithBody(server, &devapi.UploadBreadcrumbsParams{XDeviceID: device, XAppVersion: appVersion},
			req.Header.Get("Content-Type"), bytes.NewReader(body))
		parse = func(r *http.Response) error { _, err := devapi.ParseUploadBreadcrumbsResponse(r); return err }
	case method == http.MethodHead && strings.HasPrefix(p, "/v1/device/blobs/"):
		built, err = devapi.NewHasBlobRequest(server, path.Base(p), &devapi.HasBlobParams{XDeviceID: device, XAppVersion: appVersion})
		parse = func(r *http.Response) error { _, err := devapi.ParseHasBlobResponse(r); return err }
	case method == http.MethodPut && strings.HasPrefix(p, "/v1/device/blobs/"):
		built, err = devapi.NewPutBlobRequestWithBody(server, path.Base(p), &devapi.PutBlobParams{XDeviceID: device, XAppVersion: appVersion},
			req.Header.Get("Content-Type"), bytes.NewReader(body))
		parse = func(r *http.Response) error { _, err := devapi.ParsePutBlobResponse(r); return err }
	default:
		return nil, nil, false
	}
	if err != nil {
		t.Fatalf("the generated client cannot build %s %s: %v", method, req.URL, err)
	}
	for name, values := range req.Header {
		if built.Header.Get(name) == "" {
			built.Header[name] = values
		}
	}
	return built, parse, true
}
