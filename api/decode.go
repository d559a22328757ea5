package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"courierd/domain"
)

// decodeJSON reads the body into dst strictly: JSON content type, one value, no unknown
// fields, right types. Every failure is a coded error naming the field where it can.
func decodeJSON(c *fiber.Ctx, dst any) error {
	mediaType := strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0])
	if !strings.EqualFold(mediaType, fiber.MIMEApplicationJSON) {
		return domain.Errorf(codeUnsupportedMediaType, "send the body as application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.Errorf(domain.CodeMalformedBody, "the body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.CodeMalformedBody, "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.CodeMalformedBody, "the body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return domain.Errorf(domain.CodeMalformedBody, "the body is not valid JSON (byte %d: %s)", syntax.Offset, syntax.Error())
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return domain.Errorf(domain.CodeMalformedBody, "the body must be a JSON object")
		}
		return domain.Invalid(field, fmt.Sprintf("must be %s, not a JSON %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return domain.Invalid(name, "is not a known field")
	}
	return domain.Errorf(domain.CodeMalformedBody, "the body could not be read as JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint", "uint64":
		return "a whole number"
	case "float64", "float32":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	}
	return "an object"
}

// queryInt reads an optional integer query parameter.
func queryInt(c *fiber.Ctx, p *domain.Problems, name string) int {
	raw := c.Query(name)
	if raw == "" {
		return 0
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		p.Add(name, "must be a whole number")
	}
	return n
}

// queryPage reads ?limit= and ?offset=. An absent limit is the default; limit=0 is not.
func queryPage(c *fiber.Ctx, p *domain.Problems) domain.Page {
	page := domain.Page{Limit: queryInt(c, p, "limit"), Offset: queryInt(c, p, "offset")}
	if n, err := strconv.Atoi(c.Query("limit")); err == nil && n < 1 {
		p.Add("limit", fmt.Sprintf("must be between 1 and %d", domain.MaxPageLimit))
	}
	return page
}

// queryBool reads an optional true/false query parameter; nil when absent.
func queryBool(c *fiber.Ctx, p *domain.Problems, name string) *bool {
	raw := c.Query(name)
	if raw == "" {
		return nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		p.Add(name, "must be true or false")
		return nil
	}
	return &b
}

// required dereferences a field the client must send, noting its absence.
func required[V any](p *domain.Problems, field string, v *V) V {
	if v == nil {
		p.Add(field, "is required")
		var zero V
		return zero
	}
	return *v
}
