package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"courierd/api"
)

// apiDocument is docs/openapi.json: every route the server answers that the device contract
// (mobile-contract/openapi.yaml) does not describe, generated from the server's routes and
// their Go types.
const apiDocument = "../docs/openapi.json"

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

// pages are the HTML routes: pages for people, not API.
var pages = []string{api.CitizenPath, api.ConsolePath, "/assets/"}

func isPage(path string) bool {
	if path == "/" {
		return true
	}
	for _, p := range pages {
		if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

type apiSpec struct {
	doc    *openapi3.T
	router routers.Router
	// bodies are the request body types the operations name, by "METHOD /v1/x/:key".
	bodies map[string]reflect.Type
}

var (
	documentOnce sync.Once
	document     *apiSpec
	documentErr  error
)

// documentOf is the server's generated document, validated and ready to match requests.
// Every test server has the same routes: the first one asked builds it.
func documentOf(server *api.Server) (*apiSpec, error) {
	documentOnce.Do(func() { document, documentErr = buildSpec(server) })
	return document, documentErr
}

// The alert stream's events and CSV files are text to the document: read as such, they are
// checked like any body (the CSV's rows are the server's to read: it takes ';' too).
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
}

func buildSpec(server *api.Server) (*apiSpec, error) {
	doc, err := server.Document()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	// Loaded again from its JSON, as a partner's tools would read it.
	doc, err = openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("not valid OpenAPI: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &apiSpec{doc: doc, router: router, bodies: server.BodyTypes()}, nil
}

// TestAPIDocument (OWASP API9, inventory): every route is in an OpenAPI document, this one
// or the device contract; every operation says what it answers; the document is valid
// OpenAPI, and docs/openapi.json is the one the code generates.
func TestAPIDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	spec, err := documentOf(h.app)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(spec.doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(filepath.Clean(apiDocument), want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Clean(apiDocument))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("docs/openapi.json differs from the code (%v): run go test ./api -run TestAPIDocument -update", err)
	}
	// The server serves the same document to partners.
	if r := h.as("").do(t, http.MethodGet, "/openapi.json", ""); r.status != http.StatusOK || r.raw+"\n" != string(want) {
		t.Fatalf("GET /openapi.json is not docs/openapi.json: %d, %d bytes", r.status, len(r.raw))
	}
	described := map[string]bool{}
	for path, item := range spec.doc.Paths.Map() {
		for method, op := range item.Operations() {
			described[method+" "+path] = true
			ok := false
			for status := range op.Responses.Map() {
				ok = ok || status < "300"
			}
			if !ok {
				t.Errorf("%s %s: no answer described", method, path)
			}
		}
	}
	served := map[string]bool{}
	for _, r := range h.app.GetRoutes(true) {
		if r.Method == http.MethodHead && h.app.RouteAccess()[r.Method+" "+r.Path] == "" || strings.HasPrefix(r.Path, devicePrefix) || isPage(r.Path) {
			continue // fiber's own HEAD for a GET; the device contract's routes; pages
		}
		route := r.Method + " " + pathParam.ReplaceAllString(r.Path, "{$1}")
		served[route] = true
		if !described[route] {
			t.Errorf("%s is served but not described", route)
		}
	}
	for route := range described {
		if !served[route] {
			t.Errorf("%s is described but not served", route)
		}
	}
	ops, schemas := len(described), len(spec.doc.Components.Schemas)
	t.Logf("docs/openapi.json: %d operations on %d paths, %d schemas, %d bytes", ops, len(spec.doc.Paths.Map()), schemas, len(want))
}

// checkDocument holds every call of every test outside the device contract to the API
// document: each answer must be one it describes (status, problem code, body, no
// undocumented field), and a request the server accepted must be one it allows.
func checkDocument(t testing.TB, server *api.Server, req *http.Request, reqBody []byte, resp reply) {
	t.Helper()
	if strings.HasPrefix(req.URL.Path, devicePrefix) || isPage(req.URL.Path) || req.Method == http.MethodHead ||
		req.Method == http.MethodOptions {
		return
	}
	spec, err := documentOf(server)
	if err != nil {
		t.Fatalf("the API document: %v", err)
	}
	in, err := matchCall(spec.router, req, reqBody)
	if err != nil {
		if resp.status == http.StatusNotFound {
			return // neither served nor described
		}
		t.Fatalf("%s %s answered %d but is not in the API document", req.Method, req.URL.Path, resp.status)
	}
	route := in.Route
	if recordAnswer(route, resp) {
		return
	}
	if resp.status < 300 {
		// The body the document names is the type the handler decoded.
		fiberRoute := route.Method + " " + strings.NewReplacer("{", ":", "}", "").Replace(route.Path)
		if decoded, ok := api.DecodedType(fiberRoute); ok && decoded != spec.bodies[fiberRoute] {
			t.Errorf("%s decodes %v but the document says %v", fiberRoute, decoded, spec.bodies[fiberRoute])
		}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("the server accepted a request the API document refuses: %s %s: %v", req.Method, req.URL.Path, err)
		}
	}
	// A problem's code must be one the operation lists under its status. (The token
	// endpoint's RFC 6749 refusals are JSON of their own, described as such.)
	if resp.status >= 400 && strings.HasPrefix(resp.header.Get("Content-Type"), "application/problem+json") {
		codes, _ := route.Operation.Extensions["x-problem-codes"].(map[string]any)
		listed, _ := codes[strconv.Itoa(resp.status)].([]any)
		if code := resp.body["code"]; !slices.Contains(listed, code) {
			t.Errorf("%s %s answered %d %v, which its x-problem-codes do not list (%v)", req.Method, route.Path, resp.status, code, listed)
		}
	}
	if err := answerFits(in, resp); err != nil {
		t.Errorf("an answer outside the API document: %s %s → %d %.300s: %v", req.Method, req.URL.Path, resp.status, resp.raw, err)
	}
}

// recordAnswer appends what a route answered to $RECORD_ANSWERS instead of checking it,
// to list which problem codes each route answers in practice.
func recordAnswer(route *routers.Route, resp reply) bool {
	file := os.Getenv("RECORD_ANSWERS")
	if file == "" {
		return false
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return true
	}
	defer f.Close()
	code, _ := resp.body["code"].(string)
	fmt.Fprintf(f, "%s %s %d %s\n", route.Method, route.Path, resp.status, code)
	return true
}
