package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"courierd/api"
	mobilecontract "courierd/mobile-contract"
)

// devicePrefix is the part of the API the mobile contract covers.
const devicePrefix = "/v1/device/"

// contract is the loaded document, its answers closed for the tests, and its router.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var deviceContract = sync.OnceValues(func() (contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(mobilecontract.OpenAPI)
	if err != nil {
		return contract{}, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return contract{}, err
	}
	// The published answers stay open (devices ignore fields they do not know, so the server
	// may add some); the tests close them, so an undocumented field fails.
	closed := map[*openapi3.Schema]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, resp := range op.Responses.Map() {
				for _, media := range resp.Value.Content {
					closeObjects(media.Schema, closed)
				}
			}
		}
	}
	router, err := legacy.NewRouter(doc)
	return contract{doc: doc, router: router}, err
})

func closeObjects(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if s.Type.Is(openapi3.TypeObject) && len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	}
	for _, p := range s.Properties {
		closeObjects(p, seen)
	}
	closeObjects(s.Items, seen)
	for _, sub := range s.AllOf {
		closeObjects(sub, seen)
	}
}

// problemEntry is one code of mobile-contract/problems.json.
type problemEntry struct {
	Code         string `json:"code"`
	Type         string `json:"type"`
	Status       int    `json:"status"`
	Retryable    *bool  `json:"retryable"`
	DeviceAction string `json:"device_action"`
}

var problemRegistry = sync.OnceValues(func() ([]problemEntry, error) {
	var registry struct {
		Problems []problemEntry `json:"problems"`
	}
	err := json.Unmarshal(mobilecontract.Problems, &registry)
	return registry.Problems, err
})

var registeredTypes = sync.OnceValue(func() map[string]bool {
	entries, _ := problemRegistry() // TestProblemRegistryMatchesCodes reports a bad file
	out := map[string]bool{}
	for _, p := range entries {
		out[p.Type] = true
	}
	return out
})

// checkContract holds every device call of every test to the contract: each answer must be
// one the document describes (status, headers, body, no undocumented field), and a request
// the server accepted must be one the document allows.
func checkContract(t testing.TB, req *http.Request, reqBody []byte, resp reply) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, devicePrefix) {
		return
	}
	spec, err := deviceContract()
	if err != nil {
		t.Fatalf("mobile-contract/openapi.yaml: %v", err)
	}
	in, err := matchCall(spec.router, req, reqBody)
	if err != nil {
		t.Fatalf("%s %s is not in the mobile contract: %v", req.Method, req.URL.Path, err)
	}
	route := in.Route
	// A push is answered mutation by mutation, and one the contract refuses is answered
	// rejected: what the server applied is held to the contract, one by one.
	push := route.Operation.OperationID == "pushMutations" && resp.status == http.StatusOK
	if resp.status < 300 && !push {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("the server accepted a request the contract refuses: %s %s: %v", req.Method, req.URL.Path, err)
		}
	}
	if push {
		checkPayloads(t, spec.doc.Components.Schemas["Mutation"].Value, reqBody, resp)
	}
	if resp.status >= 400 && req.Method != http.MethodHead {
		if kind, _ := resp.body["type"].(string); !registeredTypes()[kind] || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("an error that is not a registered problem: %s %s → %d %s", req.Method, req.URL.Path, resp.status, resp.raw)
		}
	}
	if err := answerFits(in, resp); err != nil {
		t.Fatalf("an answer outside the contract: %s %s → %d %s: %v", req.Method, req.URL.Path, resp.status, resp.raw, err)
	}
}

// matchCall finds the operation a request calls in a document, matching the request as its
// client sent it, body included.
func matchCall(router routers.Router, req *http.Request, reqBody []byte) (*openapi3filter.RequestValidationInput, error) {
	probe := req.Clone(context.Background())
	probe.URL.Scheme, probe.URL.Host = "", ""
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(probe)
	if err != nil {
		return nil, err
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	return &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}, nil
}

// answerFits checks an answer against the operation its request matched: a status it
// describes, its headers and body.
func answerFits(in *openapi3filter.RequestValidationInput, resp reply) error {
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.status, Header: resp.header,
		Body: io.NopCloser(strings.NewReader(resp.raw)), Options: in.Options}
	return openapi3filter.ValidateResponse(context.Background(), out)
}

var payloadSchemas = sync.OnceValues(func() (map[string]*openapi3.Schema, error) {
	files, err := fs.Glob(mobilecontract.Schemas, "schemas/*.json")
	if err != nil {
		return nil, err
	}
	out := map[string]*openapi3.Schema{}
	for _, name := range files {
		raw, err := fs.ReadFile(mobilecontract.Schemas, name)
		if err != nil {
			return nil, err
		}
		var s openapi3.Schema
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[strings.TrimSuffix(path.Base(name), ".json")] = &s
	}
	return out, nil
})

// checkPayloads holds each mutation the server applied to the contract's schema, and its
// payload to its type's JSON Schema.
func checkPayloads(t testing.TB, envelope *openapi3.Schema, reqBody []byte, resp reply) {
	t.Helper()
	schemas, err := payloadSchemas()
	if err != nil {
		t.Fatalf("mobile-contract/schemas: %v", err)
	}
	var batch struct {
		Mutations []json.RawMessage `json:"mutations"`
	}
	var answer struct {
		Results []struct {
			Status string `json:"status"`
		} `json:"results"`
	}
	if json.Unmarshal(reqBody, &batch) != nil || json.Unmarshal([]byte(resp.raw), &answer) != nil || len(answer.Results) != len(batch.Mutations) {
		t.Fatalf("a push and its answer do not pair up: %s → %s", reqBody, resp.raw)
	}
	for i, raw := range batch.Mutations {
		if answer.Results[i].Status != "applied" {
			continue
		}
		var whole any
		var m struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(raw, &whole) != nil || json.Unmarshal(raw, &m) != nil {
			t.Fatalf("the server applied a mutation that is not JSON: %s", raw)
		}
		if err := envelope.VisitJSON(whole); err != nil {
			t.Fatalf("the server applied a mutation the contract refuses: %s: %v", raw, err)
		}
		schema, ok := schemas[m.Type]
		if !ok {
			t.Fatalf("the server applied %s, which has no schema in mobile-contract/schemas", m.Type)
		}
		var payload any
		if err := json.Unmarshal(m.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(payload); err != nil {
			t.Fatalf("the server applied a %s payload its schema refuses: %s: %v", m.Type, m.Payload, err)
		}
	}
}

// TestContractPathsMatchRoutes: every device route is in the contract and every operation
// of the contract is served, so neither can drift alone.
func TestContractPathsMatchRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	spec, err := deviceContract()
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	var inSpec, served []string
	for path, item := range spec.doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+param.ReplaceAllString(path, ":key"))
		}
	}
	rules := h.app.RouteAccess()
	for route := range rules {
		if strings.Contains(route, " "+devicePrefix) {
			served = append(served, route)
		}
	}
	sort.Strings(inSpec)
	sort.Strings(served)
	if strings.Join(inSpec, "\n") != strings.Join(served, "\n") || len(served) < 5 {
		t.Fatalf("the contract's operations:\n%s\nthe server's device routes:\n%s", strings.Join(inSpec, "\n"), strings.Join(served, "\n"))
	}
}

// TestProblemRegistryMatchesCodes: the codes the device may meet are exactly the server's,
// with the same status.
func TestProblemRegistryMatchesCodes(t *testing.T) {
	t.Parallel()
	entries, err := problemRegistry()
	if err != nil {
		t.Fatal(err)
	}
	want := api.ProblemStatuses()
	seen := map[string]bool{}
	for _, p := range entries {
		if seen[p.Code] {
			t.Errorf("%s is listed twice", p.Code)
		}
		seen[p.Code] = true
		if status, ok := want[p.Code]; !ok || status != p.Status {
			t.Errorf("%s: the registry says %d, the server %d (0: no such code)", p.Code, p.Status, status)
		}
		if p.Type != api.ProblemType(p.Code) {
			t.Errorf("%s: type %q, the server answers %q", p.Code, p.Type, api.ProblemType(p.Code))
		}
		if p.Retryable == nil || p.DeviceAction == "" {
			t.Errorf("%s: say whether to retry and what the device should do", p.Code)
		}
	}
	for code := range want {
		if !seen[code] {
			t.Errorf("%s is missing from mobile-contract/problems.json", code)
		}
	}
}

func TestContractIsServed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	anon := h.as("")
	for path, body := range map[string][]byte{
		"/mobile-contract/openapi.yaml": mobilecontract.OpenAPI, "/mobile-contract/problems.json": mobilecontract.Problems} {
		if r := anon.do(t, http.MethodGet, path, ""); r.status != http.StatusOK || r.raw != string(body) {
			t.Fatalf("GET %s: %d", path, r.status)
		}
	}
}

// TestContractExamples: every example in mobile-contract/examples is a request and an
// answer the contract allows, and its mutations' payloads pass their schemas.
func TestContractExamples(t *testing.T) {
	t.Parallel()
	spec, err := deviceContract()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(mobilecontract.Examples, "examples/*.json")
	if len(files) < 22 {
		t.Fatalf("%d examples", len(files))
	}
	for _, name := range files {
		raw, _ := fs.ReadFile(mobilecontract.Examples, name)
		var ex struct {
			Scenario  string          `json:"scenario"`
			Operation string          `json:"operation"`
			Request   json.RawMessage `json:"request"`
			// A body that is not JSON (a proof file) comes as text with its media type.
			RequestType string          `json:"request_type"`
			RequestText string          `json:"request_text"`
			Status      int             `json:"status"`
			Response    json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(raw, &ex); err != nil || ex.Scenario == "" {
			t.Fatalf("%s: %v", name, err)
		}
		method, path := "", ""
		for p, item := range spec.doc.Paths.Map() {
			for m, op := range item.Operations() {
				if op.OperationID == ex.Operation {
					method, path = m, strings.ReplaceAll(p, "{sha256}", strings.Repeat("ab", 32))
				}
			}
		}
		if method == "" {
			t.Fatalf("%s: no operation %q", name, ex.Operation)
		}
		body, bodyType := []byte(ex.Request), "application/json"
		if ex.RequestText != "" {
			body, bodyType = []byte(ex.RequestText), ex.RequestType
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("X-Device-ID", "handheld-1")
		if len(body) > 0 {
			req.Header.Set("Content-Type", bodyType)
		}
		contentType := "application/json"
		if ex.Status >= 400 {
			contentType = "application/problem+json"
		}
		resp := reply{status: ex.Status, header: http.Header{"Content-Type": {contentType}}, raw: string(ex.Response)}
		_ = json.Unmarshal(ex.Response, &resp.body)
		t.Run(name, func(t *testing.T) {
			route, _, err := spec.router.FindRoute(req)
			if err != nil || route.Operation.OperationID != ex.Operation {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			checkContract(t, req, body, resp)
			checkExampleCodes(t, resp)
		})
	}
}

// checkExampleCodes holds an example's codes to the registry: a problem's type and status
// are its code's, and a rejected mutation names a registered code.
func checkExampleCodes(t *testing.T, resp reply) {
	t.Helper()
	entries, err := problemRegistry()
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]problemEntry{}
	for _, e := range entries {
		byCode[e.Code] = e
	}
	if code, ok := resp.body["code"].(string); ok {
		e, known := byCode[code]
		if !known || e.Type != resp.body["type"] || e.Status != resp.status || resp.body["status"] != float64(resp.status) ||
			resp.body["title"] == "" {
			t.Fatalf("the problem %s does not match its registry entry %+v", resp.raw, e)
		}
	}
	results, _ := resp.body["results"].([]any)
	for _, r := range results {
		code, _ := r.(map[string]any)["code"].(string)
		if _, known := byCode[code]; code != "" && !known {
			t.Errorf("a result names %s, which is not in the registry", code)
		}
	}
}
