package api

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"courierd/domain"
	"courierd/domain/applicant"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/complaint"
	"courierd/domain/counter"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
	"courierd/domain/idempotency"
	"courierd/domain/live"
	"courierd/domain/payment"
	"courierd/domain/pii"
	"courierd/domain/report"
	"courierd/domain/webhook"
	mobilecontract "courierd/mobile-contract"
)

// Config is the HTTP edge's tuning; cmd/courierd fills it from the environment.
type Config struct {
	// BodyLimit bounds JSON bodies; BlobLimit bounds proof uploads, the one larger body.
	BodyLimit    int
	BlobLimit    int
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// TrustedProxies may set X-Forwarded-For; a client address from anyone else is the
	// connection's own, so nobody can forge their way out of a throttle.
	TrustedProxies []string
	// CORSOrigins are the web origins whose pages may call the API from a browser; none:
	// only pages served with the API itself (and apps, which are not browsers).
	CORSOrigins []string
	// MapTileURL is the map's base layer ({z}/{x}/{y} tiles, {s} subdomains); empty: the
	// pages draw the project's own outlines of post offices' areas and zones alone.
	MapTileURL     string
	MapAttribution string
	// MetricsToken lets a scraper read /metrics without an account; empty: admins only.
	MetricsToken string
	Keys         *KeySet
	AccessTTL    time.Duration
	CitizenTTL   time.Duration
	// DeprecatedBelow and Sunset announce the end of old device apps: calls from apps
	// older than DeprecatedBelow carry Deprecation and Sunset headers (RFC 9745, 8594).
	DeprecatedBelow string
	DeprecatedSince time.Time
	Sunset          time.Time
	// PortalSecret verifies portals' webhook calls; empty disables the webhook.
	PortalSecret []byte
	// PaymentSecret verifies the bank's payment callbacks; empty disables them.
	PaymentSecret []byte
	Now           func() time.Time
	// AlertStreamFor is how long a dispatcher's alert stream stays open before the screen
	// reconnects (0: five minutes), so that no connection outlives its proxies' patience.
	AlertStreamFor time.Duration
	// AlertHeartbeat is how often a quiet alert stream says it is still there (0: 15 s),
	// which is also how soon the server finds a screen that went away.
	AlertHeartbeat time.Duration
	// PushSlots bounds the device pushes served at once (0: unbounded). A push that finds
	// no slot within a second is answered 503 with Retry-After, and the device sends the
	// same batch again later: under a rush the others keep a short queue instead of all
	// waiting past their timeouts and sending again.
	PushSlots int
	// IdempotencyTTL is how long the answer to a request with an Idempotency-Key is kept
	// and replayed to its repeats.
	IdempotencyTTL time.Duration
	// ClientRateLimit is each partner client's requests a second, per process (0: none).
	ClientRateLimit int
}

// Services are the domain services and probes the routes call.
type Services struct {
	Catalog    *catalog.Catalog
	Auth       *auth.Service
	Audit      *audit.Log
	Dossiers   *dossier.Service
	Applicants *applicant.Service
	Complaints *complaint.Service
	Counter    *counter.Service
	Citizens   *auth.Citizens
	// Clients are partners' machine clients (client-credentials grant).
	Clients    *auth.Clients
	Sync       *fieldsync.Service
	Push       *fieldsync.Pusher
	Blobs      *fieldsync.Blobs
	Tracks     *fieldsync.Tracks
	Quarantine *fieldsync.Quarantine
	Reports    *fieldsync.Reports
	// Live fans what is committed out to the dispatchers' open screens.
	Live     *live.Hub
	Dispatch *dispatch.Service
	Webhooks *webhook.Service
	Payments *payment.Service
	// PeriodReports are the reports over a period computed from the record.
	PeriodReports *report.Service
	// Limiter counts public lookups (tracking by receipt code, the map's outlines).
	Limiter *auth.Limiter
	// Idempotency keeps the answers to requests sent with an Idempotency-Key, their bodies
	// sealed with Seal; nil: the header is ignored.
	Idempotency idempotency.Store
	Seal        *pii.Keyring
	// Ready answers nil when the database is reachable and its schema within the range this
	// binary runs on (storage.Compatibility).
	Ready func(ctx context.Context) error
}

// Server is the fiber application and the access rule of each of its /v1 routes.
type Server struct {
	*fiber.App
	rules map[string]access
	ops   []*operation
	slots *slots
}

// RouteAccess describes who may call each /v1 route, keyed "METHOD /path": "public", or
// the roles allowed, comma-separated, with "+device" for calls only a bound handheld may
// make.
func (s *Server) RouteAccess() map[string]string {
	out := make(map[string]string, len(s.rules))
	for route, rule := range s.rules {
		out[route] = rule.String()
	}
	return out
}

// securityHeaders: answers carry personal data and are for programs, not pages: no
// caching anywhere on the way, no sniffing, no framing, no referrer, no resources taken
// from elsewhere (helmet sets the usual set; HSTS is for the TLS terminator in front).
func securityHeaders() fiber.Handler {
	headers := helmet.New(helmet.Config{ContentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'", XFrameOptions: "DENY"})
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return headers(c)
	}
}

// crossOrigin lets pages of origins only answer to the API from a browser; with none, no
// CORS header is sent and browsers keep other sites' pages out.
func crossOrigin(origins []string) fiber.Handler {
	if len(origins) == 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return cors.New(cors.Config{
		AllowOrigins:  strings.Join(origins, ","),
		AllowMethods:  "GET,POST,PUT,PATCH,DELETE,HEAD",
		AllowHeaders:  "Authorization,Content-Type,X-Device-ID,X-App-Version,Idempotency-Key",
		ExposeHeaders: "Retry-After,Location,Deprecation,Sunset,X-Request-ID,Idempotent-Replayed",
		MaxAge:        600,
	})
}

// New builds the HTTP server. metrics receives the HTTP series; /metrics serves it.
func New(cfg Config, svc Services, log *slog.Logger, metrics *prometheus.Registry) *Server {
	app := fiber.New(fiber.Config{
		AppName:                 "courierd",
		BodyLimit:               max(cfg.BodyLimit, cfg.BlobLimit),
		ReadTimeout:             cfg.ReadTimeout,
		WriteTimeout:            cfg.WriteTimeout,
		IdleTimeout:             cfg.IdleTimeout,
		ErrorHandler:            errorHandler(log),
		DisableStartupMessage:   true,
		EnableTrustedProxyCheck: true,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg.TrustedProxies),
	})
	observe := newObserver(app.Config().ErrorHandler, log, metrics)
	app.Use(requestid.New(), observe.handle, recoverPanics, securityHeaders(), crossOrigin(cfg.CORSOrigins), func(c *fiber.Ctx) error {
		// The server reads bodies up to the blob limit; everywhere else the JSON limit holds.
		if len(c.Request().Body()) > cfg.BodyLimit && !strings.HasPrefix(c.Path(), blobPrefix) {
			return domain.Errorf(domain.CodeBodyTooLarge, "the body is larger than %d bytes", cfg.BodyLimit)
		}
		return c.Next()
	})

	var ops []*operation
	describe(&ops, fiber.MethodGet, "/healthz", public).doc("Liveness: the process answers").answers(fiber.StatusOK, statusBody{})
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(statusBody{Status: "ok"})
	})
	ready := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return svc.Ready(ctx)
	}
	// Readiness as a series too, so that an alert sees a process its balancer left out.
	metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "courierd_ready",
		Help: "1 while this process answers /readyz with 200 (its database answers, its schema fits), else 0.",
	}, func() float64 {
		if ready(context.Background()) != nil {
			return 0
		}
		return 1
	}))
	describe(&ops, fiber.MethodGet, "/readyz", public).doc("Readiness: the database answers and its schema is within the range this release runs on").
		answers(fiber.StatusOK, statusBody{})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		if err := ready(c.UserContext()); err != nil {
			log.Warn("not ready", "error", err.Error())
			return domain.Errorf(domain.CodeUnavailable, "not ready: the database is unreachable or its schema is outside the range this release runs on")
		}
		return c.JSON(statusBody{Status: "ready"})
	})
	// The device contract is public: the device team builds against what the server runs.
	describe(&ops, fiber.MethodGet, "/mobile-contract/openapi.yaml", public).doc("The device contract (OpenAPI, YAML)").
		answers(fiber.StatusOK, nil).alsoAnswers("application/yaml")
	describe(&ops, fiber.MethodGet, "/mobile-contract/problems.json", public).doc("The registry of problem codes").
		answers(fiber.StatusOK, nil).alsoAnswers(fiber.MIMEApplicationJSON)
	// This API's own document, generated from the routes once they are all registered.
	describe(&ops, fiber.MethodGet, "/openapi.json", public).doc("This API's OpenAPI document (docs/openapi.json)").
		answers(fiber.StatusOK, nil).alsoAnswers(fiber.MIMEApplicationJSON)
	document := sync.OnceValues(func() ([]byte, error) {
		doc, err := buildDocument(ops)
		if err != nil {
			return nil, err
		}
		return json.MarshalIndent(doc, "", "  ")
	})
	app.Get("/openapi.json", func(c *fiber.Ctx) error {
		raw, err := document()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(raw)
	})
	app.Get("/mobile-contract/openapi.yaml", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "application/yaml")
		return c.Send(mobilecontract.OpenAPI)
	})
	app.Get("/mobile-contract/problems.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(mobilecontract.Problems)
	})

	tok := &tokens{keys: cfg.Keys, ttl: cfg.AccessTTL, citizenTTL: cfg.CitizenTTL, now: cfg.Now}
	g := &guard{tokens: tok, auth: svc.Auth, partners: newClientLimits(cfg.ClientRateLimit), deprecatedBelow: cfg.DeprecatedBelow, deprecatedSince: cfg.DeprecatedSince, sunset: cfg.Sunset}
	// Metrics tell anyone how busy which routes are: for a scraper with METRICS_TOKEN, or
	// an admin.
	asAdmin := g.check(admins)
	describe(&ops, fiber.MethodGet, "/metrics", admins).doc("Prometheus metrics (an admin, or the METRICS_TOKEN as bearer)").
		answers(fiber.StatusOK, nil).alsoAnswers("text/plain")
	app.Get("/metrics", func(c *fiber.Ctx) error {
		_, bearer, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		if cfg.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(bearer), []byte(cfg.MetricsToken)) == 1 {
			return c.Next()
		}
		return asAdmin(c)
	}, adaptor.HTTPHandler(promhttp.HandlerFor(metrics, promhttp.HandlerOpts{})))
	idem := &idempotent{store: svc.Idempotency, seal: svc.Seal, ttl: cmp.Or(cfg.IdempotencyTTL, 24*time.Hour), now: cfg.Now}
	if idem.now == nil {
		idem.now = time.Now
	}
	v1 := &router{group: app.Group("/v1"), prefix: "/v1", guard: g, rules: map[string]access{}, idem: idem, ops: &ops}
	mountSession(v1, svc.Auth, tok)
	mountCatalog(v1, svc.Catalog, cfg.Now)
	mountStaff(v1, svc.Auth, svc.Audit)
	mountClients(v1, svc.Clients, tok)
	brokenChains := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "courierd_custody_broken_chains_total",
		Help: "Custody verifications (GET /v1/dossiers/{id}/custody/verify) that found a broken chain.",
	})
	metrics.MustRegister(brokenChains)
	mountDossiers(v1, svc.Dossiers, svc.Applicants, brokenChains)
	mountFlags(v1, svc.Dossiers)
	mountCitizens(v1, svc.Citizens, svc.Dossiers, svc.Applicants, svc.Payments, tok)
	mountManifests(v1, svc.Counter)
	mountTracking(v1, svc.Applicants, svc.Limiter)
	mountSubscribers(v1, svc.Webhooks)
	mountPayments(v1, svc.Payments, cfg.PaymentSecret, cfg.Now)
	mountDispatch(v1, svc.Dispatch, svc.Limiter)
	mountWebhooks(v1, svc.Dossiers, cfg.PortalSecret, cfg.Now)
	mountPeriodReports(v1, svc.PeriodReports)
	mountComplaints(v1, svc.Complaints)
	var account payment.Account
	if svc.Payments != nil {
		account = svc.Payments.Account()
	}
	mountSync(v1, svc.Sync, account, cfg.Now)
	quarantined := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "courierd_sync_quarantined_total",
		Help: "Facts from the field that could not be applied and wait for a dispatcher, by code.",
	}, []string{"code"})
	metrics.MustRegister(quarantined)
	pushSlots := newSlots(cfg.PushSlots)
	nudge := nudgeDelays(svc.Dispatch, log)
	mountPush(v1, svc.Push, pushSlots, cfg.Now, quarantined, nudge, log)
	mountQuarantine(v1, svc.Quarantine)
	mountLive(v1, svc.Live, svc.Dispatch, liveStreaming{lifetime: cmp.Or(cfg.AlertStreamFor, 5*time.Minute),
		heartbeat: cmp.Or(cfg.AlertHeartbeat, 15*time.Second), writeTimeout: cmp.Or(cfg.WriteTimeout, 30*time.Second)})
	if svc.Live != nil {
		metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "courierd_live_streams",
			Help: "Dispatchers' live streams open on this process.",
		}, func() float64 { return float64(svc.Live.Subscribers()) }))
		metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "courierd_live_listening",
			Help: "1 while this process hears the database's live events, else 0: what commits meanwhile reaches none of its streams.",
		}, func() float64 {
			if svc.Live.Listening() {
				return 1
			}
			return 0
		}))
	}
	mountBlobs(v1, svc.Blobs)
	mountTracks(v1, svc.Tracks, svc.Catalog, nudge)
	mountReports(v1, svc.Reports, svc.Dossiers, svc.Catalog, cfg.Now)

	mountPages(app, cfg)

	app.Use(func(c *fiber.Ctx) error {
		return domain.Errorf(domain.CodeNotFound, "no route %s %s", c.Method(), c.Path())
	})
	return &Server{App: app, rules: v1.rules, ops: ops, slots: pushSlots}
}

// statusBody is the probes' answer.
type statusBody struct {
	Status string `json:"status" enum:"ok,ready"`
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// observer writes the access log and the request metrics. It runs the error handler
// itself so that the status it records is the one the client gets.
type observer struct {
	handleError fiber.ErrorHandler
	log         *slog.Logger
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
}

func newObserver(handleError fiber.ErrorHandler, log *slog.Logger, reg *prometheus.Registry) *observer {
	o := &observer{
		handleError: handleError,
		log:         log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courierd_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "courierd_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route pattern and status.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
	}
	reg.MustRegister(o.requests, o.latency)
	return o
}

func (o *observer) handle(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if herr := o.handleError(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	elapsed := time.Since(start)
	status := c.Response().StatusCode()
	// A streamed body is not read here: reading it would wait for the stream's end and
	// hold every byte of it back until then.
	bytesOut := -1
	if !c.Response().IsBodyStream() {
		bytesOut = len(c.Response().Body())
	}
	// Metrics keep their labels; fiber's strings point into buffers that the next request
	// reuses (an uncopied method once turned GET into "POS").
	method, route := strings.Clone(c.Method()), strings.Clone(routeLabel(c))
	statusText := strconv.Itoa(status)
	o.requests.WithLabelValues(method, route, statusText).Inc()
	o.latency.WithLabelValues(method, route, statusText).Observe(elapsed.Seconds())
	// The route pattern, never the path or query: those can hold receipt codes and phones.
	o.log.Info("request",
		"request_id", requestID(c),
		"method", method,
		"route", route,
		"status", status,
		"duration_ms", float64(elapsed.Microseconds())/1000,
		"bytes_in", len(c.Request().Body()),
		"bytes_out", bytesOut,
	)
	return nil
}

// routeLabel is the matched route pattern, or "unmatched" so that scanners probing random
// paths cannot blow up the metrics' cardinality.
func routeLabel(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || r.Path == "/" || r.Path == "" {
		return "unmatched"
	}
	return r.Path
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestid.ConfigDefault.ContextKey).(string)
	return id
}
