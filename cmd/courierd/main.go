// Command courierd is the courierd server and its operator tools: serve, migrate, seed.
// All wiring happens here: configuration from the environment, the database, the domain
// services, the HTTP edge.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // profiles on PPROF_ADDR only
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"courierd/api"
	"courierd/domain"
	"courierd/domain/applicant"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/counter"
	"courierd/domain/demo"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
	"courierd/domain/notify"
	"courierd/domain/payment"
	"courierd/domain/pii"
	"courierd/domain/webhook"
	"courierd/storage"
	"courierd/storage/messaging"
	"courierd/storage/osrm"
	"courierd/storage/outbound"
)

const usage = `usage: courierd <command>

commands:
  serve                  serve the HTTP API (refuses a database whose schema is not current)
  migrate up|down|status apply all pending migrations, roll back the latest one, or list them
  seed [--reset] [--seed N] [--citizens N] [--dossiers N] [--couriers N]
                         write the demo data if the database holds none (--reset replaces it)
  verify-custody         check every dossier's custody chain; exits 1 naming the broken ones
  datakey [ID]           write a new data key DATA_KEY_DIR/ID.key (ID defaults to today's date)
  reseal                 seal every citizen ID number and door code again with the current data key
  keygen DIR [KID]       write a new Ed25519 signing key DIR/KID.pem (KID defaults to today's date)
  config                 list every environment variable with its default
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "courierd:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its world passed in so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, args[1:], stdout)
	case "seed":
		return seed(ctx, cfg, log, args[1:], stdout)
	case "keygen":
		return keygen(args[1:], stdout)
	case "verify-custody":
		return verifyCustody(ctx, cfg, log, stdout)
	case "datakey":
		id := time.Now().UTC().Format(time.DateOnly)
		if len(args) > 1 {
			id = args[1]
		}
		if id == "" || strings.ContainsAny(id, `:/\`) {
			return fmt.Errorf("a data key's id names a file and is written before each sealed value: no ':', '/' or '\\' (got %q)", id)
		}
		path, err := writeDataKey(cfg.DataKeyDir, id)
		if err == nil {
			fmt.Fprintf(stdout, "wrote %s; it seals new data once it is the newest by name or DATA_KEY_ID names it\n", path)
		}
		return err
	case "reseal":
		return reseal(ctx, cfg, log, stdout)
	case "config":
		printSettings(stdout)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// connect opens the database and its migrator. With requireCurrent it refuses a schema
// that differs from this binary's, saying what to run. The caller closes db.
func connect(ctx context.Context, cfg config, requireCurrent bool) (*storage.DB, *storage.Migrator, error) {
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := storage.Open(openCtx, cfg.DatabaseURL, storage.PoolConfig{
		MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns, ConnMaxLifetime: cfg.DBConnMaxLifetime,
	}, time.Now)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (is PostgreSQL running, and is DATABASE_URL right? `make run` provisions one)", err)
	}
	m, err := storage.NewMigrator(db)
	if err == nil && requireCurrent {
		err = m.CheckCurrent(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, m, nil
}

func migrate(ctx context.Context, cfg config, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: courierd migrate up|down|status")
	}
	db, m, err := connect(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "up":
		return m.Up(ctx, out)
	case "down":
		return m.Down(ctx, out)
	case "status":
		return m.Status(ctx, out)
	}
	return fmt.Errorf("unknown migrate command %q: use up, down or status", args[0])
}

func seed(ctx context.Context, cfg config, log *slog.Logger, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("seed", flag.ContinueOnError)
	flags.SetOutput(out)
	reset := flags.Bool("reset", false, "delete the catalog and demo data first")
	seedValue := flags.Int64("seed", 2018, "random seed; the same seed gives the same data")
	citizens := flags.Int("citizens", 400, "how many demo citizens (with addresses) to make")
	dossiers := flags.Int("dossiers", 300, "how many demo dossiers to open and move along")
	couriers := flags.Int("couriers", 0, "make at least this many couriers, each with an account (load runs: one per simulated handheld)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	db, _, err := connect(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	ds := demo.Build(*seedValue, *citizens)
	ds.AddCouriers(*couriers, *seedValue)
	password, generated := cfg.SeedPassword, false
	if password == "" {
		password, generated = rand.Text(), true
	}
	if err := auth.CheckPasswordStrength("SEED_PASSWORD", password); err != nil {
		return err
	}
	// One salt per account: equal passwords must not give equal hashes. A load run's
	// thousands of hashes are worth every core.
	hashing := errgroup.Group{}
	hashing.SetLimit(runtime.GOMAXPROCS(0))
	for i := range ds.Accounts {
		hashing.Go(func() (err error) {
			ds.Accounts[i].PasswordHash, err = auth.HashPassword(password, rand.Reader)
			return err
		})
	}
	if err := hashing.Wait(); err != nil {
		return err
	}
	seeded, err := storage.SeedDemo(ctx, db, ds, *reset)
	if err != nil {
		return err
	}
	if !seeded {
		fmt.Fprintln(out, "the database already holds catalog data; nothing seeded (use --reset to replace it)")
		return nil
	}
	fmt.Fprintf(out, "seeded %d administrative units, %d agencies, %d post offices, %d procedures, %d calendar days, %d couriers, %d accounts, %d citizens (seed %d)\n",
		len(ds.AdminUnits), len(ds.Agencies), len(ds.PostOffices), len(ds.Procedures), len(ds.CalendarDays), len(ds.Couriers), len(ds.Accounts), len(ds.Citizens), *seedValue)
	events, err := seedDossiers(ctx, db, cfg, log, demo.DossierPlans(ds, *seedValue, *dossiers), *seedValue)
	if err != nil {
		return fmt.Errorf("demo dossiers: %w", err)
	}
	fmt.Fprintf(out, "opened %d demo dossiers and played %d events through them\n", *dossiers, events)
	if generated {
		fmt.Fprintf(out, "demo accounts (admin, dispatcher, dispatcher2, clerk, courier01…courier%02d) share the password %s\n(shown this once; set SEED_PASSWORD to choose it)\n", len(ds.Couriers), password)
	}
	return nil
}

func keygen(args []string, out io.Writer) error {
	if len(args) < 1 || len(args) > 2 {
		return errors.New("usage: courierd keygen DIR [KID]")
	}
	kid := time.Now().UTC().Format("2006-01-02")
	if len(args) == 2 {
		kid = args[1]
	}
	path, err := api.WriteKeyFile(args[0], kid)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s; set AUTH_KEY_DIR=%s (and AUTH_SIGNING_KEY_ID=%s once there are several keys)\n", path, args[0], kid)
	return nil
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	// Two thousand devices pushing at once hold their batches in memory at once; without a
	// limit the collector lets the heap grow to twice what is live before it runs.
	if os.Getenv("GOMEMLIMIT") == "" && cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
	db, migrator, err := connect(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.SQL(), "courier"),
	)
	keys, err := loadKeys(cfg, log)
	if err != nil {
		return err
	}
	// Everything that can refuse to start is opened before any background work begins.
	blobStore, err := openBlobs(ctx, cfg)
	if err != nil {
		return err
	}
	revoked := auth.NewRevocationList()
	watchCtx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	go storage.WatchRevocations(watchCtx, db, revoked, cfg.RevocationReload, log)
	alerts := fieldsync.NewAlerts()
	go storage.WatchAlerts(watchCtx, db, alerts, log)
	authService, err := auth.NewService(storage.NewAuthStore(db), auth.Config{
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL, Throttle: auth.DefaultThrottle, MinAppVersion: cfg.MinAppVersion,
	}, revoked, time.Now, rand.Reader, newID)
	if err != nil {
		return err
	}
	w, err := wireDossiers(db, cfg, log, rand.Reader, newID)
	if err != nil {
		return err
	}
	queue, err := storage.NewQueue(db)
	if err != nil {
		return err
	}
	hooks := webhook.NewService(storage.NewWebhookStore(db, queue), w.dossiers,
		storage.HTTPPoster{Client: outbound.Client(15*time.Second, cfg.WebhookAllowPrivate, "WEBHOOK_ALLOW_PRIVATE")}, time.Now, newID)
	workers, err := storage.StartWorkers(watchCtx, db, storage.JobHandlers{Dossiers: w.dossiers, Webhooks: hooks}, cfg.JobPoll, storage.Retention{
		Tracks: time.Duration(cfg.TrackRetentionDays) * 24 * time.Hour, Sync: time.Duration(cfg.SyncRetentionDays) * 24 * time.Hour,
		Proofs: time.Duration(cfg.ProofRetentionDays) * 24 * time.Hour, ProofFiles: blobStore}, log)
	if err != nil {
		return err
	}
	dispatchConfig := dispatch.Config{RoadFactor: cfg.RoadFactor, TimeLimit: cfg.PlanTimeLimit}
	if cfg.OSRMURL != "" {
		engine, err := osrm.New(osrm.Config{URL: cfg.OSRMURL, Profile: cfg.OSRMProfile, AllowPrivate: cfg.OSRMAllowPrivate})
		if err != nil {
			return err
		}
		dispatchConfig.Travel = engine
	}
	citizenLogin, err := citizens(cfg, db, w, log)
	if err != nil {
		return err
	}
	services := api.Services{
		Catalog:    w.catalog,
		Dossiers:   w.dossiers,
		Citizens:   citizenLogin,
		Sync:       fieldsync.NewService(storage.NewFeedStore(db), w.keys.Index, w.store, blobStore),
		Blobs:      fieldsync.NewBlobs(blobStore, cfg.BlobMaxBytes),
		Tracks:     fieldsync.NewTracks(storage.NewTrackStore(db), time.Now),
		Quarantine: fieldsync.NewQuarantine(storage.NewPushStore(db, w.store), time.Now),
		Reports:    fieldsync.NewReports(storage.NewPushStore(db, w.store)),
		Alerts:     alerts,
		Push:       fieldsync.NewPusher(storage.NewPushStore(db, w.store), w.dossiers),
		Limiter:    auth.NewLimiter(storage.NewAuthStore(db), time.Now),
		Webhooks:   hooks,
		Payments:   payment.NewService(storage.NewPaymentStore(db), cfg.CollectionAccount, w.dossiers, time.Now, newID),
		Dispatch:   dispatch.NewService(storage.NewDispatchStore(db, w.store), w.catalog, w.dossiers, dispatchConfig, cfg.Clock, time.Now, newID),
		Counter:    counter.NewService(storage.NewCounterStore(db, w.store), w.dossiers, w.catalog, time.Now, newID),
		Applicants: applicant.NewService(storage.NewApplicantStore(db), w.dossiers, w.catalog, time.Now),
		Auth:       authService,
		Audit:      audit.NewLog(storage.NewAuditStore(db)),
		Ready: func(ctx context.Context) error {
			if err := db.Ping(ctx); err != nil {
				return err
			}
			return migrator.CheckCurrent(ctx)
		},
	}
	app := api.New(api.Config{
		BodyLimit: cfg.BodyLimit, BlobLimit: cfg.BlobMaxBytes, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
		TrustedProxies: cfg.TrustedProxies, CORSOrigins: cfg.CORSOrigins, MetricsToken: cfg.MetricsToken,
		MapTileURL: cfg.MapTileURL, MapAttribution: cfg.MapAttribution, Keys: keys, AccessTTL: cfg.AccessTokenTTL, CitizenTTL: cfg.CitizenTokenTTL,
		PortalSecret: []byte(cfg.PortalSecret), PaymentSecret: []byte(cfg.PaymentSecret), Now: time.Now, PushSlots: cfg.PushSlots,
		DeprecatedBelow: cfg.DeprecatedBelow, DeprecatedSince: cfg.DeprecatedSince, Sunset: cfg.Sunset,
	}, services, log, metrics)

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(fmt.Errorf("listen on %s: %w", addr, err), workers.Stop(stopCtx))
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(listener) }()
	if cfg.ProfileAddr != "" {
		// Profiles for whoever measures (go tool pprof), on their own listener: never on
		// the public one.
		profiles, err := net.Listen("tcp", cfg.ProfileAddr)
		if err != nil {
			return fmt.Errorf("listen on PPROF_ADDR %s: %w", cfg.ProfileAddr, err)
		}
		defer profiles.Close()
		go func() { _ = http.Serve(profiles, http.DefaultServeMux) }()
		log.Warn("profiles are served", "addr", profiles.Addr().String())
	}
	// The pages' addresses, for whoever started the server: on every interface, this host.
	pages := "http://" + listener.Addr().String()
	if tcp, ok := listener.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		pages = "http://localhost:" + strconv.Itoa(tcp.Port)
	}
	log.Info("serving", "addr", listener.Addr().String(), "console", pages+api.ConsolePath, "applicants", pages+api.CitizenPath)

	select {
	case err := <-served:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	alerts.Close() // open alert streams end, and the screens reconnect to another process
	if err := app.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := workers.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop job workers: %w", err)
	}
	log.Info("stopped")
	return nil
}

// withDossiers runs fn with the dossier service over the configured database.
func withDossiers(ctx context.Context, cfg config, log *slog.Logger, fn func(*dossier.Service) error) error {
	db, _, err := connect(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	w, err := wireDossiers(db, cfg, log, rand.Reader, newID)
	if err != nil {
		return err
	}
	return fn(w.dossiers)
}

// reseal moves every sealed value to the current data key, so that older keys can go.
func reseal(ctx context.Context, cfg config, log *slog.Logger, out io.Writer) error {
	return withDossiers(ctx, cfg, log, func(svc *dossier.Service) error {
		changed, err := svc.Reseal(ctx)
		fmt.Fprintf(out, "resealed %d dossiers\n", changed)
		return err
	})
}

// verifyCustody walks every dossier's chain, as an operator's audit.
func verifyCustody(ctx context.Context, cfg config, log *slog.Logger, out io.Writer) error {
	return withDossiers(ctx, cfg, log, func(svc *dossier.Service) error {
		return verifyChains(ctx, svc, out)
	})
}

func verifyChains(ctx context.Context, svc *dossier.Service, out io.Writer) error {
	ctx = auth.WithPrincipal(ctx, auth.System)
	checked, entries, broken := 0, 0, 0
	for page := (domain.Page{Limit: domain.MaxPageLimit}); ; page.Offset += page.Limit {
		list, err := svc.List(ctx, dossier.Filter{}, "", page)
		if err != nil {
			return err
		}
		for _, d := range list.Items {
			v, err := svc.Verify(ctx, d.ID)
			if err != nil {
				return err
			}
			checked, entries = checked+1, entries+v.Entries
			if !v.Intact {
				broken++
				fmt.Fprintf(out, "BROKEN %s (%s): entry %d: %s\n", d.Receipt, d.ID, v.FirstBroken, v.Reason)
			}
		}
		if len(list.Items) < page.Limit {
			break
		}
	}
	fmt.Fprintf(out, "checked %d dossiers, %d custody entries: %d broken\n", checked, entries, broken)
	if broken > 0 {
		return fmt.Errorf("%d custody chains are broken", broken)
	}
	return nil
}

// dossierWiring is the dossier service and what it is built from.
type dossierWiring struct {
	dossiers *dossier.Service
	store    *storage.DossierStore
	catalog  *catalog.Catalog
	keys     *pii.Keyring
}

// wireDossiers builds the dossier service over db; random and newID are crypto/rand and
// UUIDv7 outside the demo seeder, which makes its dossiers reproducible.
func wireDossiers(db *storage.DB, cfg config, log *slog.Logger, random io.Reader, newID func() uuid.UUID) (dossierWiring, error) {
	keys, err := loadDataKeys(cfg, log)
	if err != nil {
		return dossierWiring{}, err
	}
	if err := storage.CheckIndexKey(context.Background(), db, keys.Index("courierd blind index key check")); err != nil {
		return dossierWiring{}, err
	}
	queue, err := storage.NewQueue(db)
	if err != nil {
		return dossierWiring{}, err
	}
	w := dossierWiring{store: storage.NewDossierStore(db, queue), catalog: catalog.New(storage.NewCatalogStores(db), newID), keys: keys}
	notifier, err := applicantNotifier(cfg, log)
	if err != nil {
		return dossierWiring{}, err
	}
	w.dossiers = dossier.NewService(w.store, w.catalog, keys, notifier, cfg.Clock, time.Now, random, newID)
	return w, nil
}

// applicantNotifier is the channel NOTIFY_CHANNEL names: the log (development), an SMS
// gateway, Zalo template messages, or Zalo with SMS for applicants Zalo refuses.
func applicantNotifier(cfg config, log *slog.Logger) (dossier.Notifier, error) {
	sms := messaging.SMS{URL: cfg.SMSURL, Token: cfg.SMSToken, From: cfg.SMSFrom}
	zns := messaging.ZNS{URL: cfg.ZNSURL, AccessToken: cfg.ZNSToken, Templates: cfg.ZNSTemplates}
	var channel notify.Channel
	switch cfg.NotifyChannel {
	case "log":
		return dossier.LogNotifier{Log: log.Info}, nil
	case "sms":
		channel = sms
	case "zns":
		channel = zns
	case "zns+sms":
		channel = messaging.Fallback{First: zns, Then: sms, FirstIs: dossier.PreferZalo, ThenIs: dossier.PreferSMS}
	}
	if strings.Contains(cfg.NotifyChannel, "sms") && cfg.SMSURL == "" {
		return nil, errors.New("NOTIFY_CHANNEL sends SMS: set SMS_GATEWAY_URL")
	}
	if strings.Contains(cfg.NotifyChannel, "zns") && cfg.ZNSToken == "" {
		return nil, errors.New("NOTIFY_CHANNEL sends Zalo messages: set ZNS_ACCESS_TOKEN")
	}
	return notify.Notifier{Channel: channel, TrackURL: cfg.TrackURL, OnRefused: func(ref string, n dossier.Notice, reason string) {
		log.Warn("notice refused by every channel", "ref", ref, "notice", string(n), "reason", reason)
	}}, nil
}

// citizens is the one-time-code login, or nil (citizen login off) when no sender is
// configured: codes in a log are a development convenience, never a default.
func citizens(cfg config, db *storage.DB, w dossierWiring, log *slog.Logger) (*auth.Citizens, error) {
	var sender auth.CodeSender
	switch cfg.OTPSender {
	case "":
		return nil, nil
	case "log":
		log.Warn("OTP_SENDER=log: citizens' one-time codes are written to this log; development only")
		sender = auth.LogSender{Log: log.Warn}
	case "sms":
		if cfg.SMSURL == "" {
			return nil, errors.New("OTP_SENDER=sms: set SMS_GATEWAY_URL")
		}
		sender = messaging.SMS{URL: cfg.SMSURL, Token: cfg.SMSToken, From: cfg.SMSFrom}
	}
	return auth.NewCitizens(storage.NewAuthStore(db), w.store, sender, w.keys.Index, auth.DefaultOTP, time.Now, newID), nil
}

// loadKeys reads the signing keys, or makes a throwaway one and says what that costs.
func loadKeys(cfg config, log *slog.Logger) (*api.KeySet, error) {
	if cfg.AuthKeyDir != "" {
		return api.LoadKeyDir(cfg.AuthKeyDir, cfg.AuthSigningKeyID)
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
func openBlobs(ctx context.Context, cfg config) (proofFiles, error) {
	if cfg.BlobStoreURL == "" {
		return storage.NewFileBlobs(cfg.BlobDir)
	}
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return storage.NewS3Blobs(openCtx, cfg.BlobStoreURL, nil)
}
