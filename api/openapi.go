package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// operation is what the API document says of one route besides who may call it: its
// request and answer bodies as the Go types the handler reads and writes, its query
// parameters and the problem codes it answers beyond those every route of its kind does.
// The document is generated from these and the types, so it cannot drift from the code;
// the API tests validate every request and answer against it.
type operation struct {
	method, path string
	rule         access
	summary      string
	body         reflect.Type
	bodyMedia    []string
	bodyOptional bool
	query        []queryParam
	replies      []answer
	codes        []domain.Code
	language     bool
}

type answer struct {
	status int
	body   reflect.Type // nil: no body
	media  string
}

// queryParam is one query parameter; its schema is that of the Go type of example.
type queryParam struct {
	name, description string
	schema            *openapi3.Schema
}

func (o *operation) doc(summary string) *operation { o.summary = summary; return o }

// takes names the JSON body the route reads (the type decodeJSON decodes into).
func (o *operation) takes(body any) *operation {
	o.body = reflect.TypeOf(body)
	o.bodyMedia = append(o.bodyMedia, fiber.MIMEApplicationJSON)
	return o
}

// mayTake is takes for a body the route also does without.
func (o *operation) mayTake(body any) *operation {
	o.bodyOptional = true
	return o.takes(body)
}

// takesForm names the fields of an application/x-www-form-urlencoded body, as a struct
// whose json names are the form's.
func (o *operation) takesForm(body any) *operation {
	o.body = reflect.TypeOf(body)
	o.bodyMedia = append(o.bodyMedia, fiber.MIMEApplicationForm)
	return o
}

// alsoTakes names another media type the route reads the same body from (a form, a CSV).
func (o *operation) alsoTakes(media string) *operation {
	o.bodyMedia = append(o.bodyMedia, media)
	return o
}

// answers names an answer: its status and the JSON it carries (nil: no body).
func (o *operation) answers(status int, body any) *operation {
	a := answer{status: status, media: fiber.MIMEApplicationJSON}
	if body == nil {
		a.media = ""
	} else {
		a.body = reflect.TypeOf(body)
	}
	o.replies = append(o.replies, a)
	return o
}

// alsoAnswers names another media type of the last answer (CSV for lists).
func (o *operation) alsoAnswers(media string) *operation {
	last := o.replies[len(o.replies)-1]
	o.replies = append(o.replies, answer{status: last.status, media: media})
	return o
}

// fails lists the problem codes the route answers besides those of its kind (see
// commonCodes).
func (o *operation) fails(codes ...domain.Code) *operation {
	o.codes = append(o.codes, codes...)
	return o
}

// words says the answer carries words in the language Accept-Language picks (vi, en).
func (o *operation) words() *operation { o.language = true; return o }

// params adds query parameters.
func (o *operation) params(q ...queryParam) *operation { o.query = append(o.query, q...); return o }

func param(name string, example any, description string) queryParam {
	s := schemaOfValue(example)
	return queryParam{name: name, description: description, schema: s}
}

// paging is every list's query: an offset page or a keyset cursor.
var paging = []queryParam{
	param("limit", 0, fmt.Sprintf("items per page, 1 to %d (default %d)", domain.MaxPageLimit, domain.DefaultPageLimit)),
	param("offset", 0, "items to skip (the page form)"),
	param("cursor", "", "next_cursor of the previous page (the keyset form: stable while records are added)"),
}

func schemaOfValue(v any) *openapi3.Schema {
	switch v.(type) {
	case int:
		return openapi3.NewIntegerSchema()
	case bool:
		return openapi3.NewBoolSchema()
	case time.Time:
		return openapi3.NewDateTimeSchema()
	case float64:
		return openapi3.NewFloat64Schema()
	}
	return openapi3.NewStringSchema()
}

// dateParam is a day (YYYY-MM-DD) in Vietnam's calendar.
func dateParam(name, description string) queryParam {
	return queryParam{name: name, description: description, schema: openapi3.NewStringSchema().WithFormat("date")}
}

// enumParam is a query parameter taking one of values.
func enumParam(name, description string, values ...string) queryParam {
	s := openapi3.NewStringSchema()
	for _, v := range values {
		s.Enum = append(s.Enum, v)
	}
	return queryParam{name: name, description: description, schema: s}
}

// describe registers an operation served outside the /v1 router (probes, metrics).
func describe(ops *[]*operation, method, path string, rule access) *operation {
	o := &operation{method: method, path: path, rule: rule}
	*ops = append(*ops, o)
	return o
}

// commonCodes are the problems any route of o's kind can answer: the edge's own (size,
// time, the database away), authentication and access for callers, the body's decoding,
// a path parameter naming nothing, the Idempotency-Key's rules and partners' rate limit.
func (o *operation) commonCodes() []domain.Code {
	codes := []domain.Code{domain.CodeValidationFailed, domain.CodeBodyTooLarge, codeHeadersTooLarge, codeRequestTimeout,
		domain.CodeMalformedBody, domain.CodeInternal, domain.CodeUnavailable}
	if !o.rule.public {
		codes = append(codes, domain.CodeUnauthenticated, domain.CodeForbidden)
	}
	if o.rule.scope != "" {
		codes = append(codes, codeTooManyRequests)
	}
	if o.body != nil || len(o.bodyMedia) > 0 {
		codes = append(codes, codeUnsupportedMediaType)
	}
	if strings.Contains(o.path, ":") {
		codes = append(codes, domain.CodeNotFound)
	}
	if o.idempotent() {
		codes = append(codes, codeIdempotencyKeyInvalid, codeIdempotencyKeyReused, codeIdempotencyKeyInUse)
	}
	return codes
}

// idempotent: every POST a caller makes takes an Idempotency-Key (see router.handle).
func (o *operation) idempotent() bool {
	return o.method == fiber.MethodPost && !o.rule.public && !o.rule.device && strings.HasPrefix(o.path, "/v1/")
}

// Codes are every problem code the operation can answer, sorted.
func (o *operation) allCodes() []domain.Code {
	codes := append(o.commonCodes(), o.codes...)
	slices.Sort(codes)
	return slices.Compact(codes)
}

// deviceContractPrefix is where the device contract's routes live.
const deviceContractPrefix = "/v1/device/"

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath is fiber's /dossiers/:key as OpenAPI's /dossiers/{key}.
func openAPIPath(path string) string { return pathParam.ReplaceAllString(path, "{$1}") }

func operationID(method, path string) string {
	words := strings.FieldsFunc(strings.TrimPrefix(openAPIPath(path), "/v1"), func(r rune) bool {
		return r == '/' || r == '-' || r == '_' || r == '{' || r == '}' || r == '.'
	})
	id := strings.ToLower(method)
	for _, w := range words {
		id += strings.ToUpper(w[:1]) + w[1:]
	}
	return id
}

// schemas turns Go types into the document's component schemas. Structs are named after
// their type (dossierDTO → Dossier, listBody[dossierDTO] → DossierList), closed (no
// property the type lacks: the server refuses unknown fields, and an answer with one is a
// bug), and their fields without omitempty are required.
type schemas struct {
	gen        *openapi3gen.Generator
	components openapi3.Schemas
	names      map[string]reflect.Type
	err        error
}

func newSchemas() *schemas {
	s := &schemas{components: openapi3.Schemas{}, names: map[string]reflect.Type{}}
	s.gen = openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true, ExportGenerics: true}),
		openapi3gen.CreateTypeNameGenerator(s.name),
		openapi3gen.SchemaCustomizer(customize),
	)
	return s
}

var uuidType = reflect.TypeFor[uuid.UUID]()

// name is a type's component name, refusing two types of one name.
func (s *schemas) name(t reflect.Type) string {
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		// listBody[courierd/api.dossierDTO] → DossierList, itemsBody[custodyDTO] → CustodyItems
		arg := name[i+1 : len(name)-1]
		arg = arg[strings.LastIndexByte(arg, '.')+1:]
		if stem, ok := strings.CutSuffix(name[:i], "Body"); ok {
			name = arg + strings.ToUpper(stem[:1]) + stem[1:]
		} else {
			name = name[:i] + "Of" + arg
		}
	}
	name = strings.TrimSuffix(strings.ReplaceAll(name, "DTO", ""), "Body")
	if name == "" {
		return ""
	}
	name = strings.ToUpper(name[:1]) + name[1:]
	if seen, ok := s.names[name]; ok && seen != t && s.err == nil {
		s.err = fmt.Errorf("the types %v and %v would both be the schema %s: rename one", seen, t, name)
	}
	s.names[name] = t
	return name
}

// customize adds what Go's types do not say by themselves: required fields, closed
// objects, UUIDs, and the doc, enum, format and example tags.
func customize(name string, t reflect.Type, tag reflect.StructTag, schema *openapi3.Schema) error {
	if t == uuidType {
		*schema = *openapi3.NewUUIDSchema()
	}
	if t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]() && t != uuidType {
		schema.Type = &openapi3.Types{openapi3.TypeObject}
		schema.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
		if schema.Properties == nil {
			schema.Properties = openapi3.Schemas{}
		}
		for _, f := range reflect.VisibleFields(t) {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || f.Anonymous || name == "-" || name == "" {
				continue
			}
			if !strings.Contains(opts, "omitempty") && f.Tag.Get("optional") == "" {
				schema.Required = append(schema.Required, name)
			}
			// A nil *T is null; a component's $ref cannot say so beside it, so the
			// property wraps it (openapi3gen drops the nullable flag at $ref sites).
			if prop := schema.Properties[name]; prop != nil && strings.HasPrefix(prop.Ref, "#/") && f.Type.Kind() == reflect.Pointer && !strings.Contains(opts, "omitempty") {
				schema.Properties[name] = &openapi3.SchemaRef{Value: &openapi3.Schema{Nullable: true, AllOf: openapi3.SchemaRefs{prop}}}
			}
		}
	}
	// A slice or map without omitempty is written null when empty.
	if (t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 || t.Kind() == reflect.Map) && tag != "" && !strings.Contains(tag.Get("json"), "omitempty") {
		schema.Nullable = true
	}
	// Money fields state the domain's bound for their name; one without stays unbounded,
	// which TestMoneyMaximaInContracts refuses.
	if max, ok := domain.MaxVND[name]; ok && strings.HasSuffix(name, "_vnd") {
		schema.Min, schema.Max = new(0.0), new(float64(max))
	}
	// A sum over a day or a period (tagged sum) is bounded as every sum is, and says so.
	if tag.Get("sum") != "" {
		schema.Min, schema.Max = new(0.0), new(float64(domain.MaxTotalVND))
		schema.Extensions = map[string]any{"x-sum": true}
	}
	if d := tag.Get("doc"); d != "" {
		schema.Description = d
	}
	if f := tag.Get("format"); f != "" {
		schema.Format = f
	}
	if e := tag.Get("enum"); e != "" {
		for _, v := range strings.Split(e, ",") {
			schema.Enum = append(schema.Enum, v)
		}
	}
	if ex := tag.Get("example"); ex != "" {
		var v any
		if schema.Type.Is(openapi3.TypeString) || json.Unmarshal([]byte(ex), &v) != nil {
			v = ex
		}
		schema.Example = v
	}
	return nil
}

func (s *schemas) ref(t reflect.Type) *openapi3.SchemaRef {
	ref, err := s.gen.NewSchemaRefForValue(reflect.New(t).Elem().Interface(), s.components)
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("%v: %w", t, err)
	}
	return ref
}

// Document is the OpenAPI 3.0.3 document of every route but the device contract's
// (mobile-contract/openapi.yaml): parameters, bodies, answers, problem codes and who may
// call, generated from the routes and their Go types.
func (s *Server) Document() (*openapi3.T, error) { return buildDocument(s.ops) }

func buildDocument(ops []*operation) (*openapi3.T, error) {
	sc := newSchemas()
	problem := sc.ref(reflect.TypeFor[problem]())
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "courierd: staff, partner, citizen and operations API", Version: "1.0.0",
			Description: "Generated from the route table and its Go types (`go test ./api -run TestAPIDocument -update`); the API tests validate " +
				"every request and answer against it. Instants are RFC 3339 in UTC; days (YYYY-MM-DD) are Vietnam's calendar days. " +
				"The couriers' devices' API is mobile-contract/openapi.yaml.",
			License: &openapi3.License{Name: "MIT"}},
		Servers:  openapi3.Servers{{URL: "/"}},
		Security: openapi3.SecurityRequirements{{"bearer": []string{}}},
		Paths:    openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: sc.components,
			SecuritySchemes: openapi3.SecuritySchemes{
				"bearer": {Value: openapi3.NewJWTSecurityScheme().WithDescription("a staff or citizen access token (POST /v1/auth/login, /v1/citizen/otp/verify)")},
				"partner": {Value: &openapi3.SecurityScheme{Type: "oauth2", Description: "a partner system's client (OAuth 2.0 client credentials, RFC 6749 §4.4)",
					Flows: &openapi3.OAuthFlows{ClientCredentials: &openapi3.OAuthFlow{TokenURL: "/v1/oauth/token", Scopes: clientScopes()}}}},
			},
		},
	}
	for _, o := range ops {
		if strings.HasPrefix(o.path, deviceContractPrefix) {
			continue // mobile-contract/openapi.yaml describes them
		}
		op := &openapi3.Operation{OperationID: operationID(o.method, o.path), Summary: o.summary,
			Description: "Who may call: " + o.rule.String() + ".", Responses: openapi3.NewResponses()}
		op.Responses.Delete("default")
		switch {
		case o.rule.public:
			op.Security = &openapi3.SecurityRequirements{}
		case o.rule.scope != "":
			op.Security = &openapi3.SecurityRequirements{{"bearer": []string{}}, {"partner": []string{o.rule.scope}}}
		}
		for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter(m[1]).WithSchema(openapi3.NewStringSchema())})
		}
		for _, q := range o.query {
			p := openapi3.NewQueryParameter(q.name).WithSchema(q.schema)
			p.Description = q.description
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: p})
		}
		if o.idempotent() {
			p := openapi3.NewHeaderParameter("Idempotency-Key").WithSchema(openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(maxIdempotencyKeyLen).WithPattern(`^[\x20-\x7E]+$`))
			p.Description = "any printable ASCII text the caller chooses, at most 255 characters: a repeat with the same key and body within IDEMPOTENCY_TTL (24 h) is answered the first answer"
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: p})
		}
		if o.language {
			p := openapi3.NewHeaderParameter("Accept-Language").WithSchema(openapi3.NewStringSchema())
			p.Description = "vi (the default) or en: the language of the answer's words"
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: p})
		}
		if len(o.bodyMedia) > 0 {
			content := openapi3.Content{}
			for _, media := range o.bodyMedia {
				mt := openapi3.NewMediaType()
				if media == fiber.MIMEApplicationJSON || media == fiber.MIMEApplicationForm {
					mt.Schema = sc.ref(o.body)
				} else {
					mt.Schema = openapi3.NewStringSchema().NewRef()
				}
				content[media] = mt
			}
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(!o.bodyOptional).WithContent(content)}
		}
		for _, a := range o.replies {
			key := strconv.Itoa(a.status)
			resp := op.Responses.Value(key)
			if resp == nil {
				resp = &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(http.StatusText(a.status))}
				op.Responses.Set(key, resp)
			}
			switch {
			case a.media == "":
			case a.body != nil:
				resp.Value.Content = openapi3.NewContentWithJSONSchemaRef(sc.ref(a.body))
			default:
				if resp.Value.Content == nil {
					resp.Value.Content = openapi3.Content{}
				}
				// Text (CSV) is a string; a YAML or JSON document served as is, any value.
				schema := openapi3.NewSchema()
				if strings.HasPrefix(a.media, "text/") {
					schema = openapi3.NewStringSchema()
				}
				resp.Value.Content[a.media] = openapi3.NewMediaType().WithSchema(schema)
			}
		}
		// Problems are answered under 4XX and 5XX with the Problem body; which codes under
		// which status is the operation's x-problem-codes, checked by the API tests.
		byStatus := map[string][]string{}
		ranges := map[string][]string{}
		codes := o.allCodes()
		slices.SortStableFunc(codes, func(a, b domain.Code) int { return statusOf[a] - statusOf[b] })
		for _, code := range codes {
			status := strconv.Itoa(statusOf[code])
			byStatus[status] = append(byStatus[status], string(code))
			ranges[status[:1]+"XX"] = append(ranges[status[:1]+"XX"], status+" "+string(code))
		}
		op.Extensions = map[string]any{"x-problem-codes": byStatus}
		for _, key := range slices.Sorted(maps.Keys(ranges)) {
			resp := openapi3.NewResponse().WithDescription(strings.Join(ranges[key], ", "))
			resp.Content = openapi3.Content{"application/problem+json": openapi3.NewMediaType().WithSchemaRef(problem)}
			op.Responses.Set(key, &openapi3.ResponseRef{Value: resp})
		}
		// A status the route also answers otherwise (the token endpoint's RFC 6749
		// refusals) offers the problem as another media type: an exact status hides 4XX.
		for status := range byStatus {
			if own := op.Responses.Value(status); own != nil {
				own.Value.Content["application/problem+json"] = openapi3.NewMediaType().WithSchemaRef(problem)
			}
		}
		doc.AddOperation(openAPIPath(o.path), o.method, op)
	}
	return doc, sc.err
}

// scopeWords say what each partner scope opens, for the document.
var scopeWords = map[string]string{
	auth.ScopeDossiersCreate: "open dossiers for the client's agency (one by one or in batches)",
	auth.ScopeDossiersRead:   "read the client's agency's dossiers and their status",
	auth.ScopeWebhooksManage: "register, list and stop the client's own webhook subscribers, and read their deliveries",
	auth.ScopePaymentsReport: "report the transfers a bank received for the client's agency's dossiers",
}

func clientScopes() map[string]string {
	out := map[string]string{}
	for _, s := range auth.ClientScopes {
		out[s] = cmp.Or(scopeWords[s], s)
	}
	return out
}
