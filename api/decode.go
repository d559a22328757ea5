package api

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"courierd/domain"
	"courierd/domain/input"
)

// decodeJSON reads the body into dst strictly: JSON content type, one object, no unknown
// fields, right types, text PostgreSQL can store, integers within their columns. Every
// failure is a coded error naming the field where it can (see domain/input).
func decodeJSON(c *fiber.Ctx, dst any) error {
	mediaType := strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0])
	if !strings.EqualFold(mediaType, fiber.MIMEApplicationJSON) {
		return domain.Errorf(codeUnsupportedMediaType, "send the body as application/json")
	}
	if r := c.Route(); r != nil {
		decodedTypes.LoadOrStore(r.Method+" "+r.Path, reflect.TypeOf(dst).Elem())
	}
	return input.Decode(c.Body(), dst, "")
}

// decodedTypes is the type each route reads its body into ("POST /v1/dossiers" →
// newDossierDTO), learnt as routes are called: the tests send every field of every body
// the faults the decoder must refuse.
var decodedTypes sync.Map

// plainText refuses, naming them, the path parameters, query parameters and headers read
// by handlers that hold a NUL character or bytes that are not UTF-8: whatever a handler
// passes on from them is text PostgreSQL can store.
func plainText(c *fiber.Ctx) error {
	var p domain.Problems
	for name, value := range c.AllParams() {
		input.Text(&p, name, value)
	}
	queryText(&p, c.Context().QueryArgs())
	for _, name := range []string{headerDeviceID, headerAppVersion} {
		input.Text(&p, name, c.Get(name))
	}
	if err := p.Err(); err != nil {
		return err
	}
	return c.Next()
}

// queryText checks each query parameter's name and value as raw bytes, before fiber's
// accessors turn them into strings that would hide where a bad byte came from.
func queryText(p *domain.Problems, args *fasthttp.Args) {
	for key, value := range args.All() {
		input.Text(p, input.Clean(string(key)), string(key)+string(value))
	}
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

// queryPage reads ?limit=, ?offset= and ?cursor=. An absent limit is the default; limit=0 is not.
func queryPage(c *fiber.Ctx, p *domain.Problems) domain.Page {
	page := domain.Page{Limit: queryInt(c, p, "limit"), Offset: queryInt(c, p, "offset"), Cursor: c.Query("cursor")}
	if n, err := strconv.Atoi(c.Query("limit")); err == nil && n < 1 {
		p.Add("limit", fmt.Sprintf("must be between 1 and %d", domain.MaxPageLimit))
	}
	return page
}

// queryPeriod reads the required ?from= and ?to= of a period, days (YYYY-MM-DD) with to
// excluded.
func queryPeriod(c *fiber.Ctx, p *domain.Problems) (from, to time.Time) {
	from, to = queryDate(c, p, "from"), queryDate(c, p, "to")
	p.Check(c.Query("from") != "", "from", "is required, as YYYY-MM-DD")
	p.Check(c.Query("to") != "", "to", "is required, as YYYY-MM-DD (the day after the last)")
	return from, to
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
