// Command courierd is the courierd server and its operator tools: serve, migrate, seed.
// It reads the settings from the environment and runs what the command asks; the
// application itself is built by cmd/courierd/app, which the tests build through too.
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

	"golang.org/x/sync/errgroup"

	"courierd/api"
	"courierd/cmd/courierd/app"
	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/demo"
	"courierd/domain/dossier"
	"courierd/storage"
)

const usage = `usage: courierd <command>

commands:
  serve [--banner FILE]  serve the HTTP API (refuses a schema behind this release, or one whose
                         floor a contract migration raised above it); --banner: once listening,
                         print the addresses and FILE's note for a person, not the log
  migrate up|down|status apply all pending migrations, roll back the latest one, or list them;
                         one run at a time (a lock), never on a schema newer than this release
  seed [--reset] [--seed N] [--citizens N] [--dossiers N] [--couriers N] [--brief]
  seed --national [--fraction F] [--days N] [--seed N]
                         write the demo data if the database holds none (--reset replaces it)
  verify-custody         check every dossier's custody chain; exits 1 naming the broken ones
  datakey [ID]           write a new data key DATA_KEY_DIR/ID.key (ID defaults to today's date)
  reseal                 seal every citizen ID number, door code and webhook secret again with the current data key
  keygen DIR [KID]       write a new Ed25519 signing key DIR/KID.pem (KID defaults to today's date)
  zalo-token set|status  store the Zalo OA's refresh token, read from standard input, sealed; or
                         say when the Zalo tokens were last refreshed
  config                 list every environment variable with its default
  admin create USERNAME  make an administrator, the password read from standard input (a new
                         installation's first account; the others are made through the API)
  version                this build's version and commit
  healthcheck            exit 0 when this host's server answers GET /readyz with 200 (for
                         container health checks: the image has no shell or curl)
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

// version is set by the Makefile (-ldflags "-X main.version=…", the checkout's
// `git describe`); go build alone leaves it empty.
var version string

// buildVersion is the version operators quote in reports: the Makefile's, or else what the
// go command stamped into the binary (the module's version and the commit, marked when the
// checkout had changes; nothing when built with -buildvcs=false).
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(no build information)"
	}
	stamp := map[string]string{}
	for _, s := range info.Settings {
		stamp[s.Key] = s.Value
	}
	v := info.Main.Version
	if rev := stamp["vcs.revision"]; rev != "" {
		v += " commit " + rev
		if stamp["vcs.modified"] == "true" {
			v += " (with uncommitted changes)"
		}
	}
	return v
}

// healthcheck asks the server on this host's PORT whether it is ready.
func healthcheck(ctx context.Context, cfg app.Settings, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(out, "ready")
	return nil
}

// run is the whole program, with its world passed in so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cfg, err := app.Load(getenv)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, stderr)
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, log, args[1:], stderr)
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
		path, err := app.WriteDataKey(cfg.DataKeyDir, id)
		if err == nil {
			fmt.Fprintf(stdout, "wrote %s; it seals new data once it is the newest by name or DATA_KEY_ID names it\n", path)
		}
		return err
	case "reseal":
		return reseal(ctx, cfg, log, stdout)
	case "zalo-token":
		return app.ZaloToken(ctx, cfg, args[1:], os.Stdin, stdout, log)
	case "config":
		app.PrintSettings(stdout)
		return nil
	case "admin":
		return app.CreateAdmin(ctx, cfg, args[1:], os.Stdin, stdout)
	case "healthcheck":
		return healthcheck(ctx, cfg, stdout)
	case "version":
		fmt.Fprintln(stdout, "courierd", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func migrate(ctx context.Context, cfg app.Settings, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: courierd migrate up|down|status")
	}
	db, m, err := app.Connect(ctx, cfg, false)
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

func seed(ctx context.Context, cfg app.Settings, log *slog.Logger, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("seed", flag.ContinueOnError)
	flags.SetOutput(out)
	reset := flags.Bool("reset", false, "delete the catalog and demo data first")
	seedValue := flags.Int64("seed", 2018, "random seed; the same seed gives the same data")
	citizens := flags.Int("citizens", 400, "how many demo citizens (with addresses) to make")
	dossiers := flags.Int("dossiers", 300, "how many demo dossiers to open and move along")
	couriers := flags.Int("couriers", 0, "make at least this many couriers, each with an account (load runs: one per simulated handheld)")
	// make run shows the note last, under the server's addresses, and the summary at once.
	brief := flags.Bool("brief", false, "print the demo accounts' note, then one line saying what was seeded (make run's shape)")
	national := flags.Bool("national", false, "seed a national history instead (docs/BENCHMARKS.md): the country's catalog and a fraction of its dossiers, then roll the reports up")
	fraction := flags.Float64("fraction", 0.1, "with --national: the fraction of the country's ten million dossiers a year")
	days := flags.Int("days", 365, "with --national: how many days of history, ending now")
	if err := flags.Parse(args); err != nil {
		return err
	}
	db, _, err := app.Connect(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if *national {
		return seedNational(ctx, db, storage.National{Fraction: *fraction, Days: *days, Now: time.Now(), Seed: float64(*seedValue%1000) / 1000}, out)
	}
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
	accounts := fmt.Sprintf("demo accounts (admin, dispatcher, dispatcher2, clerk, courier01…courier%02d)", len(ds.Couriers))
	if !seeded {
		if *brief {
			fmt.Fprintf(out, "%s: their password was shown when they were seeded (set SEED_PASSWORD and run courierd seed --reset to choose one)\n", accounts)
			fmt.Fprintln(out, "found the demo already seeded")
			return nil
		}
		fmt.Fprintln(out, "the database already holds catalog data; nothing seeded (use --reset to replace it)")
		return nil
	}
	if !*brief {
		fmt.Fprintf(out, "seeded %d administrative units, %d agencies, %d post offices, %d procedures, %d calendar days, %d couriers, %d accounts, %d citizens (seed %d)\n",
			len(ds.AdminUnits), len(ds.Agencies), len(ds.PostOffices), len(ds.Procedures), len(ds.CalendarDays), len(ds.Couriers), len(ds.Accounts), len(ds.Citizens), *seedValue)
	}
	events, err := seedDossiers(ctx, db, cfg, log, ds, demo.DossierPlans(ds, *seedValue, *dossiers), *seedValue)
	if err != nil {
		return fmt.Errorf("demo dossiers: %w", err)
	}
	points, err := seedTrails(ctx, db, demo.Trails(ds, *seedValue))
	if err != nil {
		return fmt.Errorf("demo tracks: %w", err)
	}
	if !*brief {
		fmt.Fprintf(out, "opened %d demo dossiers and played %d events through them\n", *dossiers, events)
		fmt.Fprintf(out, "stored %d GPS points of the couriers' last hour\n", points)
	}
	switch {
	case generated:
		fmt.Fprintf(out, "%s share the password %s\n(shown this once; set SEED_PASSWORD to choose it)\n", accounts, password)
	case *brief:
		fmt.Fprintf(out, "%s: the password is SEED_PASSWORD's\n", accounts)
	}
	if *brief {
		fmt.Fprintf(out, "seeded the demo (%d dossiers, %d events, %d accounts, %d citizens)\n", *dossiers, events, len(ds.Accounts), len(ds.Citizens))
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

func serve(ctx context.Context, cfg app.Settings, log *slog.Logger, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	bannerNote := flags.String("banner", "", "once listening, print for a person the addresses, then the note in this file (make run: the demo accounts')")
	if err := flags.Parse(args); err != nil {
		return err
	}
	// The note is read at once: make run hands it through a pipe, never a file left behind,
	// and it goes to the person at the terminal, never into the log.
	note, banner := "", *bannerNote != ""
	if banner {
		b, err := os.ReadFile(*bannerNote)
		if err != nil {
			return fmt.Errorf("banner note: %w", err)
		}
		note = string(b)
	}
	// Two thousand devices pushing at once hold their batches in memory at once; without a
	// limit the collector lets the heap grow to twice what is live before it runs.
	if os.Getenv("GOMEMLIMIT") == "" && cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
	a, err := app.Build(ctx, cfg, app.Deps{}, log)
	if err != nil {
		return err
	}
	stop := func() error {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return a.Close(stopCtx)
	}
	if err := a.Start(); err != nil {
		return errors.Join(err, stop())
	}

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s: %w", addr, err), stop())
	}
	served := make(chan error, 1)
	go func() { served <- a.Server.Listener(listener) }()
	if cfg.ProfileAddr != "" {
		// Profiles for whoever measures (go tool pprof), on their own listener: never on
		// the public one.
		profiles, err := net.Listen("tcp", cfg.ProfileAddr)
		if err != nil {
			return errors.Join(fmt.Errorf("listen on PPROF_ADDR %s: %w", cfg.ProfileAddr, err), stop())
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
	if banner {
		printBanner(stderr, listener.Addr().String(), pages, note)
	}

	select {
	case err := <-served:
		return errors.Join(fmt.Errorf("server stopped: %w", err), stop())
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	a.Live.Close() // open live streams end, and the screens reconnect to another process
	if err := a.Server.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := stop(); err != nil {
		return fmt.Errorf("stop job workers: %w", err)
	}
	log.Info("stopped")
	return nil
}

// printBanner tells whoever ran make run where to go: the last lines they see at start,
// under the log's, so that nothing scrolls them away.
func printBanner(out io.Writer, addr, pages, note string) {
	fmt.Fprintf(out, "\ncourierd is listening on %s (Ctrl-C stops it)\n", addr)
	for _, p := range [][2]string{{"console", api.ConsolePath}, {"tracking page", api.CitizenPath},
		{"API document", "/openapi.json"}, {"health", "/readyz"}} {
		fmt.Fprintf(out, "  %-14s %s%s\n", p[0], pages, p[1])
	}
	if note = strings.TrimSpace(note); note != "" {
		fmt.Fprintf(out, "%s\n", note)
	}
}

// withCore runs fn with the services over the configured database.
func withCore(ctx context.Context, cfg app.Settings, log *slog.Logger, fn func(*app.Core) error) error {
	core, err := app.OpenCore(ctx, cfg, app.Deps{}, log)
	if err != nil {
		return err
	}
	return errors.Join(fn(core), core.Close(ctx))
}

// reseal moves every sealed value to the current data key, so that older keys can go, and
// seals the webhook secrets an earlier release kept in plain text.
func reseal(ctx context.Context, cfg app.Settings, log *slog.Logger, out io.Writer) error {
	return withCore(ctx, cfg, log, func(core *app.Core) error {
		changed, err := core.Dossiers.Reseal(ctx)
		fmt.Fprintf(out, "resealed %d dossiers\n", changed)
		if err != nil {
			return err
		}
		changed, err = core.Webhooks.SealSecrets(ctx)
		fmt.Fprintf(out, "resealed %d webhook secrets\n", changed)
		return err
	})
}

// verifyCustody walks every dossier's chain, as an operator's audit.
func verifyCustody(ctx context.Context, cfg app.Settings, log *slog.Logger, out io.Writer) error {
	return withCore(ctx, cfg, log, func(core *app.Core) error {
		return verifyChains(ctx, core.Dossiers, out)
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
