package api

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"courierd/domain"
	"courierd/domain/catalog"
)

// Config is the HTTP edge's tuning; cmd/courierd fills it from the environment.
type Config struct {
	BodyLimit    int
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
}

// Services are the domain services and probes the routes call.
type Services struct {
	Catalog *catalog.Catalog
	// Ready answers nil when the database is reachable and its schema current.
	Ready func(ctx context.Context) error
}

// New builds the fiber application. metrics receives the HTTP series; /metrics serves it.
func New(cfg Config, svc Services, log *slog.Logger, metrics *prometheus.Registry) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "courierd",
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		ErrorHandler:          errorHandler(log),
		DisableStartupMessage: true,
		// Behind a proxy the client address comes from it; we trust none by default, so
		// a client cannot forge its own address into throttles.
		EnableTrustedProxyCheck: true,
	})
	observe := newObserver(app.Config().ErrorHandler, log, metrics)
	app.Use(requestid.New(), observe.handle, recoverPanics)

	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := svc.Ready(ctx); err != nil {
			log.Warn("not ready", "error", err.Error())
			return domain.Errorf(domain.CodeUnavailable, "not ready: the database is unreachable or its schema is not current")
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(metrics, promhttp.HandlerOpts{})))

	v1 := app.Group("/v1")
	mountCatalog(v1, svc.Catalog)

	app.Use(func(c *fiber.Ctx) error {
		return domain.Errorf(domain.CodeNotFound, "no route %s %s", c.Method(), c.Path())
	})
	return app
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
	route := routeLabel(c)
	statusText := strconv.Itoa(status)
	o.requests.WithLabelValues(c.Method(), route, statusText).Inc()
	o.latency.WithLabelValues(c.Method(), route, statusText).Observe(elapsed.Seconds())
	// The route pattern, never the path or query: those can hold receipt codes and phones.
	o.log.Info("request",
		"request_id", requestID(c),
		"method", c.Method(),
		"route", route,
		"status", status,
		"duration_ms", float64(elapsed.Microseconds())/1000,
		"bytes_in", len(c.Request().Body()),
		"bytes_out", len(c.Response().Body()),
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
