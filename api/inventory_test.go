package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// apiDocument is docs/openapi.json: every route the server answers that the device contract
// (mobile-contract/openapi.yaml) does not describe, with who may call it and the error model.
const apiDocument = "../docs/openapi.json"

var routeParam = regexp.MustCompile(`:([a-z_]+)`)

// inventory builds the document from the server's own route table, so that no route can
// be served without being listed.
func inventory(h *harness) map[string]any {
	rules := h.app.RouteAccess()
	problem := map[string]any{"$ref": "#/components/responses/Problem"}
	paths := map[string]map[string]any{}
	for _, r := range h.app.GetRoutes(true) {
		route := r.Method + " " + r.Path
		rule, ruled := rules[route]
		if r.Method == http.MethodHead && !ruled || strings.HasPrefix(r.Path, devicePrefix) {
			continue // fiber's own HEAD for a GET; the device contract's routes
		}
		if !ruled {
			rule = "public (operations)"
		}
		path := routeParam.ReplaceAllString(r.Path, "{$1}")
		op := map[string]any{
			"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_").Replace(path),
			"summary":     route,
			"description": "Who may call: " + rule + ". Request and answer bodies are described in the docs/ pages by subject.",
			"responses":   map[string]any{"2XX": map[string]any{"description": "done"}, "default": problem},
		}
		if strings.HasPrefix(rule, "public") {
			op["security"] = []any{}
		}
		var params []any
		for _, m := range routeParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "courierd: staff, citizen, portal and operations API", "version": "1.0.0",
			"description": "Generated from the route table by `go test ./api -run TestAPIDocument -update`; a test fails when it differs. " +
				"The couriers' devices' API is mobile-contract/openapi.yaml."},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
			"responses": map[string]any{"Problem": map[string]any{"description": "RFC 9457 problem with a stable code",
				"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}},
			"schemas": map[string]any{"Problem": map[string]any{"type": "object", "required": []any{"type", "title", "status", "code", "request_id"},
				"properties": map[string]any{
					"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"}, "status": map[string]any{"type": "integer"},
					"detail": map[string]any{"type": "string"}, "code": map[string]any{"type": "string"}, "request_id": map[string]any{"type": "string"},
					"errors": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
						"field": map[string]any{"type": "string"}, "reason": map[string]any{"type": "string"}}}},
				}}},
		},
	}
}

// TestAPIDocument (OWASP API9, inventory): every route is in an OpenAPI document, this one
// or the device contract, and the document is valid OpenAPI.
func TestAPIDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	want, err := json.MarshalIndent(inventory(h), "", "  ")
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
		t.Fatalf("docs/openapi.json differs from the route table (%v): run go test ./api -run TestAPIDocument -update", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(got)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.json is not valid OpenAPI: %v", err)
	}
	if n := len(doc.Paths.Map()); n < 40 {
		t.Fatalf("%d paths documented", n)
	}
}
