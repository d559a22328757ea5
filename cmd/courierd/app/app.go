// Package app is the one place courierd is wired: Settings (read from the environment by
// Load, or built in code by tests from Defaults) and Deps (what a caller brings instead:
// an open database, fakes, seeded randomness) go in; the database, the River client, the
// stores, the domain services, the job workers and the HTTP server come out. The command
// (cmd/courierd), its operator subcommands (through Core) and every test harness build
// through here, so what the tests run is what is served.
package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"courierd/api"
	"courierd/domain/applicant"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/complaint"
	"courierd/domain/counter"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
	"courierd/domain/live"
	"courierd/domain/notify"
	"courierd/domain/payment"
	"courierd/domain/pii"
	"courierd/domain/report"
	"courierd/domain/webhook"
	"courierd/storage"
	"courierd/storage/jobs"
	"courierd/storage/outbound"
	"courierd/storage/outbound/messaging"
	"courierd/storage/outbound/osrm"
)

// Deps are what a caller brings instead of what Settings would make. Zero fields: the
// real thing.
type Deps struct {
	// DB is a database already open (tests: dbtest's), which Close leaves open; nil:
	// Settings.DatabaseURL is opened, its schema must be current, and Close closes it.
	DB *storage.DB
	// Random and NewID make receipt codes, door codes and ids: crypto/rand and UUIDv7
	// unless given (the demo seeder's are seeded, so its dossiers are reproducible).
	Random io.Reader
	NewID  func() uuid.UUID
	// Past: the dossier changes made are history being recorded (the demo seed's), which
	// schedule their timers but tell nobody: no notices, no webhooks (storage.Queue.Past).
	Past bool
	// SessionClock is the time access tokens and sessions are issued and checked by
	// (tests move it on); nil: time.Now.
	SessionClock func() time.Time
	// DossierClock is the time the dossier service reads (the demo seeder's plays dossiers
	// opened days ago); nil: time.Now.
	DossierClock func() time.Time
	// Revocations is the list of revoked sessions (tests share one between two servers,
	// as processes share the database); nil: a new one, which Start keeps reloaded.
	Revocations *auth.RevocationList
	// Live reaches dispatchers' screens (tests share one between two servers); nil: new.
	Live *live.Hub
	// DispatchClock is the time the dispatch service reads (tests play a courier's day
	// and let it fall behind); nil: time.Now.
	DispatchClock func() time.Time
	// Ready replaces the readiness probe; nil: the database answers and its schema is
	// this binary's.
	Ready func(context.Context) error
	// AlertStreamFor and AlertHeartbeat shape dispatchers' alert streams; zero: the
	// server's defaults.
	AlertStreamFor, AlertHeartbeat time.Duration
}

// Core is the database, the process's one River client, and the dossier and webhook
// services over them (the two that keep sealed values): what the operator subcommands
// (seed, reseal, verify-custody) work with, and what Build builds the server on.
type Core struct {
	DB       *storage.DB
	Dossiers *dossier.Service
	Webhooks *webhook.Service
	Jobs     *jobs.Client

	settings Settings
	deps     Deps
	log      *slog.Logger
	ownDB    bool
	// background is the life of the background work (jobs, watchers): it outlives the
	// caller's context, which a signal cancels, so that Close can let running jobs finish.
	background     context.Context
	stopBackground context.CancelFunc
	migrator       *storage.Migrator
	queue          *storage.Queue
	store          *storage.DossierStore
	catalog        *catalog.Catalog
	keys           *pii.Keyring
	dataKeyID      string
}

// Connect opens the database Settings names and its migrator. With requireCompatible it
// refuses a schema this binary may not run on (behind it, or past its floor), saying what
// to do. The caller closes db.
func Connect(ctx context.Context, s Settings, requireCompatible bool) (*storage.DB, *storage.Migrator, error) {
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := storage.Open(openCtx, s.DatabaseURL, storage.PoolConfig{
		MaxOpenConns: s.DBMaxOpenConns, MaxIdleConns: s.DBMaxIdleConns, ConnMaxLifetime: s.DBConnMaxLifetime,
		DirectURL: s.DatabaseDirectURL, Pooled: s.DatabasePooler != "",
	}, time.Now)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (is PostgreSQL running, and is DATABASE_URL right? `make run` provisions one)", err)
	}
	m, err := storage.NewMigrator(db)
	if err == nil && requireCompatible {
		err = m.CheckCompatible(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, m, nil
}

// OpenCore opens the database (unless d brings one), the River client, the data keys and
// the dossier and webhook services.
func OpenCore(ctx context.Context, s Settings, d Deps, log *slog.Logger) (_ *Core, err error) {
	if d.Random == nil {
		d.Random = rand.Reader
	}
	if d.NewID == nil {
		d.NewID = newID
	}
	c := &Core{DB: d.DB, settings: s, deps: d, log: log}
	c.background, c.stopBackground = context.WithCancel(context.Background())
	if c.DB == nil {
		if c.DB, c.migrator, err = Connect(ctx, s, true); err != nil {
			return nil, err
		}
		c.ownDB = true
	} else if c.migrator, err = storage.NewMigrator(c.DB); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close(context.Background()))
		}
	}()
	if c.Jobs, err = jobs.New(c.DB, s.JobPoll, s.JobWorkers, log); err != nil {
		return c, err
	}
	c.queue = c.Jobs.Queue()
	if d.Past {
		c.queue = c.queue.Past()
	}
	if c.keys, c.dataKeyID, err = loadDataKeys(s, log); err != nil {
		return c, err
	}
	if err = storage.CheckIndexKey(ctx, c.DB, c.keys.Index("courierd blind index key check")); err != nil {
		return c, err
	}
	notifier, err := applicantNotifier(ctx, s, c.DB, c.keys, log)
	if err != nil {
		return c, err
	}
	c.store = storage.NewDossierStore(c.DB, c.queue)
	c.catalog = catalog.New(storage.NewCatalogStores(c.DB), d.NewID)
	dossierClock := d.DossierClock
	if dossierClock == nil {
		dossierClock = time.Now
	}
	c.Dossiers = dossier.NewService(c.store, c.catalog, c.keys, notifier, s.Clock, dossierClock, d.Random, d.NewID)
	c.Webhooks = webhook.NewService(storage.NewWebhookStore(c.DB, c.queue), c.Dossiers, c.keys,
		outbound.Poster{Client: outbound.Client(15*time.Second, s.WebhookAllowPrivate, "WEBHOOK_ALLOW_PRIVATE")}, time.Now, d.NewID)
	return c, nil
}

// Close stops the background work, letting running jobs finish within ctx, and closes
// what OpenCore opened. A server's HTTP side is the caller's to shut down first.
func (c *Core) Close(ctx context.Context) error {
	var err error
	if c.Jobs != nil {
		err = c.Jobs.Close(ctx)
	}
	c.stopBackground()
	if c.ownDB {
		c.DB.Close()
	}
	return err
}

// App is the whole server: the core, the services the jobs need, and the HTTP app.
type App struct {
	*Core
	Server   *api.Server
	Live     *live.Hub
	Dispatch *dispatch.Service

	revoked *auth.RevocationList
	blobs   proofFiles
}

// Build wires the application from s and d. Nothing runs in the background until Start
// (or StartJobs): everything that can refuse to start refuses here.
func Build(ctx context.Context, s Settings, d Deps, log *slog.Logger) (_ *App, err error) {
	core, err := OpenCore(ctx, s, d, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, core.Close(context.Background()))
		}
	}()
	d, db, now := core.deps, core.DB, d.SessionClock
	if now == nil {
		now = time.Now
	}
	a := &App{Core: core, Live: d.Live, revoked: d.Revocations}
	if a.Live == nil {
		a.Live = live.NewHub()
	}
	if a.revoked == nil {
		a.revoked = auth.NewRevocationList()
	}
	keys, err := loadKeys(s, log)
	if err != nil {
		return nil, err
	}
	if a.blobs, err = openBlobs(ctx, s); err != nil {
		return nil, err
	}
	authService, err := auth.NewService(storage.NewAuthStore(db), auth.Config{
		AccessTTL: s.AccessTokenTTL, RefreshTTL: s.RefreshTokenTTL, Throttle: auth.DefaultThrottle, MinAppVersion: s.MinAppVersion,
	}, a.revoked, now, rand.Reader, d.NewID)
	if err != nil {
		return nil, err
	}
	rounds := s.PlanRoundsPerStop
	if rounds == 0 {
		rounds = -1 // to the time limit
	}
	dispatchConfig := dispatch.Config{RoadFactor: s.RoadFactor, TimeLimit: s.PlanTimeLimit, MaxTrips: s.PlanMaxTrips, Reload: s.PlanReloadTime,
		RoundsPerStop: rounds, Delays: dispatch.DelayThresholds{CourierLate: s.AlertCourierLate, StopDeadline: s.AlertStopDeadline},
		DelayCheckEvery: s.DelayCheckEvery}
	travelFallbacks := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "courierd_plan_travel_fallbacks_total",
		Help: "Travel matrices made on straight lines × ROAD_FACTOR although OSRM_URL is set, by reason (too_many_points, osrm_timeout, osrm_error, osrm_garbage)."},
		[]string{"reason"})
	if s.OSRMURL != "" {
		// The matrix is a motorbike's (dispatch scales other vehicles by their speed).
		engine, err := osrm.New(osrm.Config{URL: s.OSRMURL, Profile: cmp.Or(s.OSRMProfileMotorbike, s.OSRMProfile), AllowPrivate: s.OSRMAllowPrivate,
			Timeout: s.OSRMTimeout, MaxTable: s.OSRMMaxTable, MaxURL: s.OSRMMaxURL, Concurrency: s.OSRMConcurrency})
		if err != nil {
			return nil, err
		}
		dispatchConfig.Travel = engine
		dispatchConfig.FellBack = func(reason string, points int, err error) {
			travelFallbacks.WithLabelValues(reason).Inc()
			log.Warn("a plan's travel falls back to straight lines × ROAD_FACTOR", "reason", reason, "points", points, "error", err)
		}
	}
	citizenLogin, err := citizens(s, core, log)
	if err != nil {
		return nil, err
	}
	ready := d.Ready
	if ready == nil {
		ready = func(ctx context.Context) error {
			if err := db.Ping(ctx); err != nil {
				return err
			}
			return core.migrator.CheckCompatible(ctx)
		}
	}
	pushes := storage.NewPushStore(db, core.queue)
	dispatchNow := time.Now
	if d.DispatchClock != nil {
		dispatchNow = d.DispatchClock
	}
	a.Dispatch = dispatch.NewService(storage.NewDispatchStore(db, core.queue), core.catalog, core.Dossiers, dispatchConfig, s.Clock, dispatchNow, d.NewID)
	services := api.Services{
		Catalog:       core.catalog,
		Dossiers:      core.Dossiers,
		Citizens:      citizenLogin,
		Clients:       auth.NewClients(storage.NewClientStore(db), a.revoked, s.AccessTokenTTL, now, rand.Reader, d.NewID),
		Sync:          fieldsync.NewService(storage.NewFeedStore(db), core.keys.Index, core.store, a.blobs),
		Blobs:         fieldsync.NewBlobs(a.blobs, s.BlobMaxBytes),
		Tracks:        fieldsync.NewTracks(storage.NewTrackStore(db), time.Now),
		Quarantine:    fieldsync.NewQuarantine(pushes, time.Now),
		Reports:       fieldsync.NewReports(pushes, time.Now, d.NewID),
		Live:          a.Live,
		Push:          fieldsync.NewPusher(pushes, core.Dossiers),
		Limiter:       auth.NewLimiter(storage.NewAuthStore(db), time.Now),
		Webhooks:      a.Webhooks,
		Payments:      payment.NewService(storage.NewPaymentStore(db), s.CollectionAccount, core.Dossiers, time.Now, d.NewID),
		PeriodReports: report.NewService(storage.NewReportStore(db)),
		Dispatch:      a.Dispatch,
		Counter:       counter.NewService(storage.NewCounterStore(db, core.queue), core.Dossiers, core.catalog, time.Now, d.NewID),
		Applicants:    applicant.NewService(storage.NewApplicantStore(db), core.Dossiers, core.catalog, time.Now),
		Complaints:    complaint.NewService(storage.NewComplaintStore(db), core.Dossiers, s.ComplaintDeadline, time.Now, d.NewID),
		Auth:          authService,
		Audit:         audit.NewLog(storage.NewAuditStore(db)),
		Ready:         ready,
		// Idempotency-Key answers carry personal data: sealed like it.
		Idempotency: storage.NewIdempotencyStore(db),
		Seal:        core.keys,
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.SQL(), "courier"),
		jobs.NewMetrics(db, log),
		jobs.NewCustodyMetrics(db, log),
		travelFallbacks,
		keyAge("courierd_signing_key_age_seconds", "Age of the key that signs access tokens (AUTH_KEY_DIR), from the date in its name or its file's time.",
			filepath.Join(s.AuthKeyDir, keys.SigningKID()+".pem")),
		keyAge("courierd_data_key_age_seconds", "Age of the data key that seals new personal data (DATA_KEY_DIR), from the date in its name or its file's time.",
			filepath.Join(s.DataKeyDir, core.dataKeyID+".key")),
	)
	if s.ZaloAppID != "" {
		metrics.MustRegister(zaloRefreshed(storage.NewZaloTokenStore(db), s.ZaloAppID, log))
	}
	a.Server = api.New(api.Config{
		BodyLimit: s.BodyLimit, BlobLimit: s.BlobMaxBytes, ReadTimeout: s.ReadTimeout, WriteTimeout: s.WriteTimeout, IdleTimeout: s.IdleTimeout,
		TrustedProxies: s.TrustedProxies, CORSOrigins: s.CORSOrigins, MetricsToken: s.MetricsToken,
		MapTileURL: s.MapTileURL, MapAttribution: s.MapAttribution, Keys: keys, AccessTTL: s.AccessTokenTTL, CitizenTTL: s.CitizenTokenTTL,
		PortalSecret: []byte(s.PortalSecret), PaymentSecret: []byte(s.PaymentSecret), Now: now, PushSlots: s.PushSlots,
		AlertStreamFor: d.AlertStreamFor, AlertHeartbeat: d.AlertHeartbeat,
		DeprecatedBelow: s.DeprecatedBelow, DeprecatedSince: s.DeprecatedSince, Sunset: s.Sunset, IdempotencyTTL: s.IdempotencyTTL,
		ClientRateLimit: s.ClientRateLimit,
	}, services, log, metrics)
	return a, nil
}

// Start begins the background work of a serving process: reloading the revocation list
// and dispatchers' live streams from the database, and working jobs. Close stops it.
func (a *App) Start() error {
	go storage.WatchRevocations(a.background, a.DB, a.revoked, a.settings.RevocationReload, a.log)
	go storage.WatchLive(a.background, a.DB, a.Live, a.log)
	return a.StartJobs()
}

// StartJobs starts working jobs only (tests that watch jobs run). Close stops them.
func (a *App) StartJobs() error {
	day := 24 * time.Hour
	return a.Jobs.Start(a.background, jobs.Handlers{Dossiers: a.Dossiers, Webhooks: a.Webhooks, Delays: a.Dispatch, Plans: a.Dispatch}, jobs.Retention{
		Tracks: time.Duration(a.settings.TrackRetentionDays) * day, Sync: time.Duration(a.settings.SyncRetentionDays) * day,
		Proofs: time.Duration(a.settings.ProofRetentionDays) * day, ProofFiles: a.blobs,
		Throttles: auth.ThrottleHorizon, Deliveries: time.Duration(a.settings.WebhookDeliveryDays) * day, Secrets: a.Webhooks})
}

// applicantNotifier is the channel NOTIFY_CHANNEL names: the log (development), an SMS
// gateway, Zalo template messages, or Zalo with SMS for applicants Zalo refuses.
func applicantNotifier(ctx context.Context, s Settings, db *storage.DB, keys *pii.Keyring, log *slog.Logger) (dossier.Notifier, error) {
	if s.NotifyChannel == "log" {
		return dossier.LogNotifier{Log: log.Info}, nil
	}
	if strings.Contains(s.NotifyChannel, "sms") && s.SMSURL == "" {
		return nil, errors.New("NOTIFY_CHANNEL sends SMS: set SMS_GATEWAY_URL")
	}
	sms := messaging.SMS{URL: s.SMSURL, Token: s.SMSToken, From: s.SMSFrom}
	var channel notify.Channel = sms
	if strings.Contains(s.NotifyChannel, "zns") {
		tokens, err := zaloTokens(ctx, s, db, keys, log)
		if err != nil {
			return nil, err
		}
		zns := messaging.ZNS{URL: s.ZNSURL, Tokens: tokens, Templates: s.ZNSTemplates}
		channel = zns
		if s.NotifyChannel == "zns+sms" {
			channel = messaging.Fallback{First: zns, Then: sms, FirstIs: dossier.PreferZalo, ThenIs: dossier.PreferSMS}
		}
	}
	return notify.Notifier{Channel: channel, TrackURL: s.TrackURL, OnRefused: func(ref string, n dossier.Notice, reason string) {
		log.Warn("notice refused by every channel", "ref", ref, "notice", string(n), "reason", reason)
	}}, nil
}

// citizens is the one-time-code login, or nil (citizen login off) when no sender is
// configured: codes in a log are a development convenience, never a default.
func citizens(s Settings, core *Core, log *slog.Logger) (*auth.Citizens, error) {
	var sender auth.CodeSender
	switch s.OTPSender {
	case "":
		return nil, nil
	case "log":
		log.Warn("OTP_SENDER=log: citizens' one-time codes are written to this log; development only")
		sender = auth.LogSender{Log: log.Warn}
	case "sms":
		if s.SMSURL == "" {
			return nil, errors.New("OTP_SENDER=sms: set SMS_GATEWAY_URL")
		}
		sender = messaging.SMS{URL: s.SMSURL, Token: s.SMSToken, From: s.SMSFrom}
	}
	return auth.NewCitizens(storage.NewAuthStore(core.DB), core.store, sender, core.keys.Index, auth.DefaultOTP, time.Now, core.deps.NewID), nil
}

// loadKeys reads the signing keys, or makes a throwaway one and says what that costs.
func loadKeys(s Settings, log *slog.Logger) (*api.KeySet, error) {
	if s.AuthKeyDir != "" {
		return api.LoadKeyDir(s.AuthKeyDir, s.AuthSigningKeyID)
	}
	log.Warn("AUTH_KEY_DIR is not set: signing access tokens with a throwaway key; they stop working when this process stops and other processes cannot check them (run `courierd keygen DIR` and set AUTH_KEY_DIR)")
	return api.EphemeralKeySet()
}

// newID makes time-ordered UUIDs, which keep B-tree inserts local.
func newID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}

// proofFiles is where proof files are kept: devices upload them, retention deletes them.
type proofFiles interface {
	fieldsync.BlobStore
	storage.BlobDeleter
}

// openBlobs is the proof store the configuration names: S3-compatible, or the file system.
func openBlobs(ctx context.Context, s Settings) (proofFiles, error) {
	if s.BlobStoreURL == "" {
		return storage.NewFileBlobs(s.BlobDir)
	}
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return storage.NewS3Blobs(openCtx, s.BlobStoreURL, s.BlobStoreKeys, nil)
}
