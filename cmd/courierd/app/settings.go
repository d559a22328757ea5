package app

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"courierd/domain/auth"
	"courierd/domain/complaint"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/domain/payment"
	"courierd/storage"
	"courierd/storage/jobs"
)

// poolerPgBouncer is DATABASE_POOLER's one value: PgBouncer in transaction mode.
const poolerPgBouncer = "pgbouncer"

// Settings is everything courierd reads from its environment, and nothing else (but the
// files its secret settings may name): no flags for settings, so that one process and the
// next are configured alike. Tests start from Defaults and change what they need.
type Settings struct {
	DatabaseURL         string
	DatabaseDirectURL   string
	DatabasePooler      string
	Host                string
	Port                int
	LogLevel            slog.Level
	LogFormat           string
	BodyLimit           int
	ReadTimeout         time.Duration
	WriteTimeout        time.Duration
	IdleTimeout         time.Duration
	ShutdownTimeout     time.Duration
	DBMaxOpenConns      int
	DBMaxIdleConns      int
	DBConnMaxLifetime   time.Duration
	AuthKeyDir          string
	AuthSigningKeyID    string
	AccessTokenTTL      time.Duration
	RefreshTokenTTL     time.Duration
	MinAppVersion       string
	TrustedProxies      []string
	CORSOrigins         []string
	MetricsToken        string
	MapTileURL          string
	MapAttribution      string
	RevocationReload    time.Duration
	SeedPassword        string
	DataKeyDir          string
	DataKeyID           string
	DataIndexKeyID      string
	Clock               dossier.ClockConfig
	JobPoll             time.Duration
	JobWorkers          jobs.Workers
	CitizenTokenTTL     time.Duration
	IdempotencyTTL      time.Duration
	ComplaintDeadline   complaint.Deadline
	PortalSecret        string
	PaymentSecret       string
	ProfileAddr         string
	PushSlots           int
	ClientRateLimit     int
	MemoryLimitMiB      int
	CollectionAccount   payment.Account
	OTPSender           string
	BlobDir             string
	BlobStoreURL        string
	BlobStoreKeys       storage.S3Keys
	BlobMaxBytes        int
	ProofRetentionDays  int
	TrackRetentionDays  int
	SyncRetentionDays   int
	WebhookDeliveryDays int
	RoadFactor          float64
	PlanTimeLimit       time.Duration
	PlanMaxTrips        int
	PlanReloadTime      time.Duration
	PlanRoundsPerStop   int
	// AlertCourierLate and AlertStopDeadline are the delay alerts' thresholds.
	AlertCourierLate, AlertStopDeadline time.Duration
	// DelayCheckEvery spaces each office's delay checks that couriers' traffic asks for.
	DelayCheckEvery      time.Duration
	OSRMURL              string
	OSRMProfile          string
	OSRMAllowPrivate     bool
	OSRMProfileMotorbike string
	OSRMTimeout          time.Duration
	OSRMMaxTable         int
	OSRMMaxURL           int
	OSRMConcurrency      int
	NotifyChannel        string
	SMSURL, SMSToken     string
	SMSFrom              string
	ZNSURL, ZNSToken     string
	ZNSTemplates         map[dossier.Notice]string
	ZaloAppID            string
	ZaloAppSecret        string
	ZaloOAuthURL         string
	ZaloRefreshMargin    time.Duration
	TrackURL             string
	WebhookAllowPrivate  bool
	DeprecatedBelow      string
	DeprecatedSince      time.Time
	Sunset               time.Time
}

// setting is one environment variable: whether it is a secret, its default, what it is
// for, and how to read it.
type setting struct {
	name string
	// secret: a password, token or key, or a URL that may carry one. It may be read from
	// the file NAME_FILE instead, as container platforms mount secrets.
	secret         bool
	fallback, help string
	apply          func(c *Settings, raw string) error
}

// A setting is a secret or not.
const (
	secret    = true
	notSecret = false
)

var settings = []setting{
	{"DATABASE_URL", secret, "postgres://postgres@127.0.0.1:5432/courier?sslmode=disable", "PostgreSQL connection URL (`make run` and `make test` provision one when unset)",
		func(c *Settings, v string) error { c.DatabaseURL = v; return nil }},
	{"DATABASE_DIRECT_URL", secret, "", "PostgreSQL itself, not through a pooler in transaction mode, for what needs a session of its own: LISTEN, the migrations' lock, the national seed; empty: DATABASE_URL",
		func(c *Settings, v string) error { c.DatabaseDirectURL = v; return nil }},
	{"DATABASE_POOLER", notSecret, "", "pgbouncer when DATABASE_URL leads through PgBouncer (or another pooler) in transaction mode: no statement is prepared by name, and DATABASE_DIRECT_URL is required; empty: none",
		func(c *Settings, v string) error {
			if v != "" && v != poolerPgBouncer {
				return fmt.Errorf("must be empty or %s", poolerPgBouncer)
			}
			c.DatabasePooler = v
			return nil
		}},
	{"HOST", notSecret, "0.0.0.0", "address to listen on",
		func(c *Settings, v string) error { c.Host = v; return nil }},
	{"PORT", notSecret, "8080", "TCP port to listen on",
		intSetting(func(c *Settings) *int { return &c.Port }, 1, 65535)},
	{"LOG_LEVEL", notSecret, "info", "debug, info, warn or error",
		func(c *Settings, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{"LOG_FORMAT", notSecret, "json", "json (for collectors) or text (for people)",
		func(c *Settings, v string) error {
			if v != "json" && v != "text" {
				return fmt.Errorf("must be json or text")
			}
			c.LogFormat = v
			return nil
		}},
	{"BODY_LIMIT_BYTES", notSecret, "1048576", "largest request body accepted; larger ones get 413 BODY_TOO_LARGE",
		intSetting(func(c *Settings) *int { return &c.BodyLimit }, 1024, 1<<30)},
	{"READ_TIMEOUT", notSecret, "15s", "time allowed to read a whole request",
		durationSetting(func(c *Settings) *time.Duration { return &c.ReadTimeout })},
	{"WRITE_TIMEOUT", notSecret, "30s", "time allowed to write a response",
		durationSetting(func(c *Settings) *time.Duration { return &c.WriteTimeout })},
	{"IDLE_TIMEOUT", notSecret, "60s", "how long an idle keep-alive connection stays open",
		durationSetting(func(c *Settings) *time.Duration { return &c.IdleTimeout })},
	{"SHUTDOWN_TIMEOUT", notSecret, "20s", "on SIGTERM/SIGINT, how long in-flight requests get to finish",
		durationSetting(func(c *Settings) *time.Duration { return &c.ShutdownTimeout })},
	{"DB_MAX_OPEN_CONNS", notSecret, "8", "most connections to PostgreSQL at once: about 4 for each of PostgreSQL's cores, counting every process; beyond that, statements only queue on PostgreSQL's locks with the whole machine busy, and every call's tail grows",
		intSetting(func(c *Settings) *int { return &c.DBMaxOpenConns }, 1, 1000)},
	{"DB_MAX_IDLE_CONNS", notSecret, "8", "connections kept open between requests; below DB_MAX_OPEN_CONNS, a busy server closes and opens connections all the time (a new backend and its prepared statements each)",
		intSetting(func(c *Settings) *int { return &c.DBMaxIdleConns }, 0, 1000)},
	{"DB_CONN_MAX_LIFETIME", notSecret, "30m", "a connection is replaced after this long",
		durationSetting(func(c *Settings) *time.Duration { return &c.DBConnMaxLifetime })},
	{"AUTH_KEY_DIR", notSecret, "", "directory of Ed25519 <kid>.pem keys for access tokens (`courierd keygen DIR`); empty: a throwaway key per process",
		func(c *Settings, v string) error { c.AuthKeyDir = v; return nil }},
	{"AUTH_SIGNING_KEY_ID", notSecret, "", "which private key in AUTH_KEY_DIR signs; empty when there is only one",
		func(c *Settings, v string) error { c.AuthSigningKeyID = v; return nil }},
	{"ACCESS_TOKEN_TTL", notSecret, "10m", "lifetime of an access token",
		durationSetting(func(c *Settings) *time.Duration { return &c.AccessTokenTTL })},
	{"REFRESH_TOKEN_TTL", notSecret, "720h", "lifetime of an unused refresh token (30 days: couriers stay offline for days)",
		durationSetting(func(c *Settings) *time.Duration { return &c.RefreshTokenTTL })},
	{"MIN_APP_VERSION", notSecret, "", "oldest device app version served (e.g. 1.4.0); older apps get 426 UPGRADE_REQUIRED",
		func(c *Settings, v string) error {
			if v != "" && !auth.ValidAppVersion(v) {
				return fmt.Errorf("must be a version such as 1.4.0")
			}
			c.MinAppVersion = v
			return nil
		}},
	{"DEPRECATED_APP_VERSION", notSecret, "", "device apps older than this get Deprecation and Sunset headers (e.g. 1.6.0); empty: none",
		func(c *Settings, v string) error {
			if v != "" && !auth.ValidAppVersion(v) {
				return fmt.Errorf("must be a version such as 1.6.0")
			}
			c.DeprecatedBelow = v
			return nil
		}},
	{"DEPRECATED_SINCE", notSecret, "2026-01-01", "when the deprecation was announced (YYYY-MM-DD), for the Deprecation header",
		dateSetting(func(c *Settings) *time.Time { return &c.DeprecatedSince })},
	{"APP_SUNSET", notSecret, "", "when deprecated apps stop being served (YYYY-MM-DD), for the Sunset header; empty: not set",
		dateSetting(func(c *Settings) *time.Time { return &c.Sunset })},
	{"BLOB_DIR", notSecret, "data/blobs", "where proof files (signatures, photos) are kept, by SHA-256",
		func(c *Settings, v string) error { c.BlobDir = v; return nil }},
	{"BLOB_STORE_URL", secret, "", "an S3-compatible store for proof files instead of BLOB_DIR: s3://[key:secret@]host[:port]/bucket[/prefix][?region=…&tls=false]; keys otherwise from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or their _FILE forms)",
		func(c *Settings, v string) error {
			if v != "" && !strings.HasPrefix(v, "s3://") {
				return fmt.Errorf("must be an s3:// URL, or empty for the file system")
			}
			c.BlobStoreURL = v
			return nil
		}},
	{"AWS_ACCESS_KEY_ID", secret, "", "the blob store's access key when BLOB_STORE_URL carries none",
		func(c *Settings, v string) error { c.BlobStoreKeys.AccessKeyID = v; return nil }},
	{"AWS_SECRET_ACCESS_KEY", secret, "", "the blob store's secret key when BLOB_STORE_URL carries none",
		func(c *Settings, v string) error { c.BlobStoreKeys.SecretAccessKey = v; return nil }},
	{"BLOB_MAX_BYTES", notSecret, "10485760", "largest proof file accepted (10 MiB)",
		intSetting(func(c *Settings) *int { return &c.BlobMaxBytes }, 1024, 100<<20)},
	{"TRACK_RETENTION_DAYS", notSecret, "90", "days of GPS breadcrumbs kept; older days are dropped daily (at least 31: devices may send points 30 days late)",
		intSetting(func(c *Settings) *int { return &c.TrackRetentionDays }, 31, 3650)},
	{"PROOF_RETENTION_DAYS", notSecret, "365", "days proof photos and signatures are kept after their dossier closed (delivered, returned, cancelled); then the daily job deletes them, each deletion in the audit log (at least 30)",
		intSetting(func(c *Settings) *int { return &c.ProofRetentionDays }, 30, 36500)},
	{"SYNC_RETENTION_DAYS", notSecret, "30", "days the change feed and the answers to applied mutations are kept (at least 30); an older cursor gets a snapshot, an older retry is answered duplicate",
		intSetting(func(c *Settings) *int { return &c.SyncRetentionDays }, 30, 3650)},
	{"WEBHOOK_DELIVERY_RETENTION_DAYS", notSecret, "90", "days webhook deliveries (each event sent to a subscriber, with its attempts) are kept; then the daily job deletes them (at least 30: River retries a delivery for about three weeks)",
		intSetting(func(c *Settings) *int { return &c.WebhookDeliveryDays }, 30, 3650)},
	{"ROAD_FACTOR", notSecret, "1.3", "road distance over straight-line distance, for planning routes without a routing engine",
		func(c *Settings, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 1 || f > 3 {
				return fmt.Errorf("must be a number between 1 and 3")
			}
			c.RoadFactor = f
			return nil
		}},
	{"PLAN_TIME_LIMIT", notSecret, "5s", "how long the route solver plans a day when the dispatcher names no time (at most 60s)",
		func(c *Settings, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 100*time.Millisecond || d > time.Minute {
				return fmt.Errorf("must be a duration between 100ms and 60s")
			}
			c.PlanTimeLimit = d
			return nil
		}},
	{"PLAN_MAX_TRIPS", notSecret, "3", "how many loads a courier may take in a planned day, reloading at the post office between them, when the dispatcher names none (1–5)",
		func(c *Settings, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > dispatch.MaxTripsLimit {
				return fmt.Errorf("must be a whole number from 1 to %d", dispatch.MaxTripsLimit)
			}
			c.PlanMaxTrips = n
			return nil
		}},
	{"PLAN_RELOAD_TIME", notSecret, "10m", "how long a courier takes at the post office between two trips to unload and load, when the dispatcher names none (1m–2h)",
		func(c *Settings, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute || d > dispatch.MaxReload {
				return fmt.Errorf("must be a duration between 1m and 2h")
			}
			c.PlanReloadTime = d
			return nil
		}},
	{"PLAN_ROUNDS_PER_STOP", notSecret, "100", "rounds of search per stop that end a plan before its time limit, so that a plan repeats on any machine; 0 searches to the time limit, better with more time or a faster machine but never twice the same (0–100000)",
		func(c *Settings, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100_000 {
				return fmt.Errorf("must be a whole number from 0 to 100000")
			}
			c.PlanRoundsPerStop = n
			return nil
		}},
	{"ALERT_COURIER_LATE", notSecret, "20m", "a courier predicted this late or more on their published route raises a delay alert (once a day)",
		durationSetting(func(c *Settings) *time.Duration { return &c.AlertCourierLate })},
	{"ALERT_STOP_DEADLINE", notSecret, "30m", "a stop whose slot ends within this time (or has ended) and that the courier is predicted to miss raises a delay alert (once)",
		durationSetting(func(c *Settings) *time.Duration { return &c.AlertStopDeadline })},
	{"DELAY_CHECK_EVERY", notSecret, "2s", "each post office's delays are checked at most this often as its couriers' facts and positions come in (at most two offices at once per process): an alert is found at most this late",
		durationSetting(func(c *Settings) *time.Duration { return &c.DelayCheckEvery })},
	{"OSRM_URL", notSecret, "", "an OSRM-compatible routing engine (its table service) for planning on real roads, e.g. http://osrm.internal:5000; empty: straight lines × ROAD_FACTOR",
		func(c *Settings, v string) error { c.OSRMURL = v; return nil }},
	{"OSRM_PROFILE", notSecret, "driving", "the OSRM profile to ask for when OSRM_PROFILE_MOTORBIKE is empty (osrm-routed serves the one it was built with, whatever the name)",
		func(c *Settings, v string) error { c.OSRMProfile = v; return nil }},
	{"OSRM_PROFILE_MOTORBIKE", notSecret, "", "the OSRM profile couriers' motorbikes are planned with, where the engine has one (a server holding several profiles by name); other vehicles scale its times by their speed; empty: OSRM_PROFILE",
		func(c *Settings, v string) error { c.OSRMProfileMotorbike = v; return nil }},
	{"OSRM_TIMEOUT", notSecret, "10s", "time allowed for each table request to the engine; past it the plan is made on straight lines × ROAD_FACTOR and says so",
		durationSetting(func(c *Settings) *time.Duration { return &c.OSRMTimeout })},
	{"OSRM_MAX_TABLE", notSecret, "100", "the engine's --max-table-size: a request asks at most its square of pairs (sources × destinations), larger tables in blocks",
		intSetting(func(c *Settings) *int { return &c.OSRMMaxTable }, 1, 10_000)},
	{"OSRM_MAX_URL", notSecret, "7680", "the longest table request URL in bytes (osrm-routed and proxies such as nginx take 8 KiB of request line by default)",
		intSetting(func(c *Settings) *int { return &c.OSRMMaxURL }, 256, 1<<20)},
	{"OSRM_CONCURRENCY", notSecret, "4", "table requests in flight at once for one plan",
		intSetting(func(c *Settings) *int { return &c.OSRMConcurrency }, 1, 64)},
	{"OSRM_ALLOW_PRIVATE", notSecret, "false", "let OSRM_URL reach a loopback or private address (an engine inside the post's network); refused otherwise",
		func(c *Settings, v string) error {
			b, err := strconv.ParseBool(v)
			c.OSRMAllowPrivate = b
			return err
		}},
	{"NOTIFY_CHANNEL", notSecret, "log", "how applicants are told what happens to their dossier: log (development: the log names the dossier and the notice, never the phone), sms, zns (Zalo template messages), or zns+sms (SMS when Zalo refuses)",
		func(c *Settings, v string) error {
			if v != "log" && v != "sms" && v != "zns" && v != "zns+sms" {
				return fmt.Errorf("must be log, sms, zns or zns+sms")
			}
			c.NotifyChannel = v
			return nil
		}},
	{"SMS_GATEWAY_URL", notSecret, "", "the SMS gateway: courierd POSTs {to, from, text, ref} as JSON with a bearer token",
		func(c *Settings, v string) error { c.SMSURL = v; return nil }},
	{"SMS_GATEWAY_TOKEN", secret, "", "the SMS gateway's bearer token",
		func(c *Settings, v string) error { c.SMSToken = v; return nil }},
	{"SMS_BRANDNAME", notSecret, "BUUDIEN", "the registered brand name SMS show as their sender",
		func(c *Settings, v string) error { c.SMSFrom = v; return nil }},
	{"ZNS_URL", notSecret, "https://business.openapi.zalo.me/message/template", "Zalo Notification Service's template-message endpoint",
		func(c *Settings, v string) error { c.ZNSURL = v; return nil }},
	{"ZNS_ACCESS_TOKEN", secret, "", "a fixed Zalo Official Account access token, used only when ZALO_APP_ID is empty: it expires within about a day and is never refreshed (a warning at start says so)",
		func(c *Settings, v string) error { c.ZNSToken = v; return nil }},
	{"ZALO_APP_ID", notSecret, "", "the Zalo app (numeric id) through which courierd reaches the Official Account; set, courierd keeps the OA's tokens in the database, sealed, and refreshes them (`courierd zalo-token set` stores the first refresh token)",
		func(c *Settings, v string) error {
			if strings.Trim(v, "0123456789") != "" {
				return fmt.Errorf("must be the Zalo app's numeric id")
			}
			c.ZaloAppID = v
			return nil
		}},
	{"ZALO_APP_SECRET", secret, "", "the Zalo app's secret key, sent to Zalo's OAuth endpoint when refreshing tokens",
		func(c *Settings, v string) error { c.ZaloAppSecret = v; return nil }},
	{"ZALO_OAUTH_URL", notSecret, "https://oauth.zaloapp.com/v4/oa/access_token", "Zalo's OAuth v4 endpoint that trades the OA's refresh token for new tokens",
		func(c *Settings, v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("must be an http(s) URL")
			}
			c.ZaloOAuthURL = v
			return nil
		}},
	{"ZALO_REFRESH_MARGIN", notSecret, "1h", "the Zalo access token is refreshed this long before it expires (or at half its life when that comes first), and at once when Zalo refuses it",
		durationSetting(func(c *Settings) *time.Duration { return &c.ZaloRefreshMargin })},
	{"ZNS_TEMPLATES", notSecret, "", "the Zalo template of each notice, as notice=template_id pairs separated by commas (e.g. result_ready=281234,held_at_post_office=281240); notices without one go by SMS under zns+sms",
		func(c *Settings, v string) error {
			c.ZNSTemplates = map[dossier.Notice]string{}
			for _, pair := range splitList(v) {
				notice, id, ok := strings.Cut(pair, "=")
				if !ok || id == "" || !slices.Contains(dossier.Notices, dossier.Notice(notice)) {
					return fmt.Errorf("%q is not notice=template_id with a known notice", pair)
				}
				c.ZNSTemplates[dossier.Notice(notice)] = id
			}
			return nil
		}},
	{"TRACK_URL", notSecret, "http://localhost:8080/tra-cuu", "the public page applicants follow their dossier on; messages link to it with the receipt code",
		func(c *Settings, v string) error { c.TrackURL = v; return nil }},
	{"WEBHOOK_ALLOW_PRIVATE", notSecret, "false", "let webhook subscribers' URLs reach loopback or private addresses (a portal inside the province's network); refused at connection time otherwise",
		func(c *Settings, v string) error {
			b, err := strconv.ParseBool(v)
			c.WebhookAllowPrivate = b
			return err
		}},
	{"PUSH_SLOTS", notSecret, "0", "device pushes served at once; one that waits a second for a slot is answered 503 with Retry-After and sent again (0: unbounded)",
		intSetting(func(c *Settings) *int { return &c.PushSlots }, 0, 1000)},
	{"CLIENT_RATE_LIMIT", notSecret, "20", "requests a second each partner's client may make, per process; more are answered 429 TOO_MANY_REQUESTS with Retry-After (0: no limit)",
		intSetting(func(c *Settings) *int { return &c.ClientRateLimit }, 0, 100000)},
	{"MEMORY_LIMIT_MIB", notSecret, "256", "the heap size the Go runtime collects garbage harder to stay under (a soft limit: it never refuses memory); GOMEMLIMIT, when set, wins; 0: none",
		intSetting(func(c *Settings) *int { return &c.MemoryLimitMiB }, 0, 1<<20)},
	{"PPROF_ADDR", notSecret, "", "an address (e.g. 127.0.0.1:6060) to serve Go profiles on, for measuring (`go tool pprof`); empty: none. Keep it on loopback",
		func(c *Settings, v string) error { c.ProfileAddr = v; return nil }},
	{"TRUSTED_PROXIES", notSecret, "", "comma-separated addresses or CIDRs of load balancers allowed to set X-Forwarded-For",
		func(c *Settings, v string) error { c.TrustedProxies = splitList(v); return nil }},
	{"METRICS_TOKEN", secret, "", "a bearer token a Prometheus scraper sends to read /metrics (at least 32 characters); empty: only admins may read it",
		secretSetting(func(c *Settings) *string { return &c.MetricsToken })},
	{"CORS_ALLOWED_ORIGINS", notSecret, "", "comma-separated web origins (https://console.example.vn) whose pages may call the API from a browser; empty: none",
		func(c *Settings, v string) error {
			c.CORSOrigins = splitList(v)
			for i, origin := range c.CORSOrigins {
				origin = strings.TrimSuffix(origin, "/")
				c.CORSOrigins[i] = origin
				u, err := url.Parse(origin)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
					return fmt.Errorf("%q is not an origin such as https://console.example.vn", origin)
				}
			}
			return nil
		}},
	{"MAP_TILE_URL", notSecret, "", "the pages' map tiles, e.g. https://tiles.example.vn/{z}/{x}/{y}.png ({s} for subdomains); empty: the project's own outlines of post offices' areas and zones, which need no outside host",
		func(c *Settings, v string) error {
			c.MapTileURL = v
			if v == "" {
				return nil
			}
			u, err := url.Parse(strings.ReplaceAll(v, "{s}", "a"))
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
				!strings.Contains(v, "{z}") || !strings.Contains(v, "{x}") || !strings.Contains(v, "{y}") {
				return fmt.Errorf("%q is not a tile URL such as https://tiles.example.vn/{z}/{x}/{y}.png", v)
			}
			return nil
		}},
	{"MAP_TILE_ATTRIBUTION", notSecret, "", "the credit the tiles' licence asks to be shown on the map, as HTML (a link may be in it), e.g. © OpenStreetMap contributors",
		func(c *Settings, v string) error { c.MapAttribution = v; return nil }},
	{"REVOCATION_RELOAD", notSecret, "10s", "how often each process reloads the revocation list even without a notification",
		durationSetting(func(c *Settings) *time.Duration { return &c.RevocationReload })},
	{"DATA_KEY_DIR", notSecret, ".keys", "directory of <id>.key files (32 random bytes, base64) that seal citizen ID numbers, door codes and webhook secrets; a key is created there when none exists",
		func(c *Settings, v string) error { c.DataKeyDir = v; return nil }},
	{"DATA_KEY_ID", notSecret, "", "which key in DATA_KEY_DIR seals new data; empty: the newest by name (keys are named by date)",
		func(c *Settings, v string) error { c.DataKeyID = v; return nil }},
	{"DATA_INDEX_KEY_ID", notSecret, "", "which key in DATA_KEY_DIR the blind index of citizen ID numbers and phones is derived from; it must not change while indexes are kept; empty: the oldest by name",
		func(c *Settings, v string) error { c.DataIndexKeyID = v; return nil }},
	{"PICKUP_LEG_DAYS", notSecret, "2", "working days from a pickup request to the agency's receipt before a dossier is late",
		intSetting(func(c *Settings) *int { return &c.Clock.PickupLegDays }, 0, 60)},
	{"DELIVERY_LEG_DAYS", notSecret, "2", "working days from a result ready to its delivery before it is late",
		intSetting(func(c *Settings) *int { return &c.Clock.DeliveryLegDays }, 0, 60)},
	{"HOLD_DAYS", notSecret, "7", "days a result is held at the post office before it goes back to the agency",
		intSetting(func(c *Settings) *int { return &c.Clock.HoldDays }, 1, 90)},
	{"AT_RISK_DAYS", notSecret, "1", "a deadline within this many working days counts as at risk",
		intSetting(func(c *Settings) *int { return &c.Clock.AtRiskDays }, 0, 30)},
	{"MAX_DELIVERY_ATTEMPTS", notSecret, "2", "failed deliveries after which the result is held at the post office",
		intSetting(func(c *Settings) *int { return &c.Clock.MaxAttempts }, 1, 10)},
	{"BOOKING_HORIZON_DAYS", notSecret, "30", "how many days ahead a pickup, a delivery or a dispatch plan may be booked for, by anyone; the day must also be a working day of the calendar",
		intSetting(func(c *Settings) *int { return &c.Clock.HorizonDays }, 1, 366)},
	{"HANDOVER_CODE_TTL", notSecret, "24h", "how long the door code sent to an applicant when their result sets out stays good",
		durationSetting(func(c *Settings) *time.Duration { return &c.Clock.HandoverTTL })},
	{"FIX_MAX_DISTANCE_M", notSecret, "500", "a GPS fix recorded at a door farther than this many metres from the address is applied but flagged for the dispatcher",
		intSetting(func(c *Settings) *int { return &c.Clock.Fix.MaxDistanceM }, 10, 100_000)},
	{"FIX_MAX_ACCURACY_M", notSecret, "200", "a GPS fix recorded at a door whose accuracy is worse than this many metres is applied but flagged for the dispatcher",
		intSetting(func(c *Settings) *int { return &c.Clock.Fix.MaxAccuracyM }, 5, 10_000)},
	{"CITIZEN_TOKEN_TTL", notSecret, "30m", "lifetime of a citizen's access token after a one-time-code login (no refresh)",
		durationSetting(func(c *Settings) *time.Duration { return &c.CitizenTokenTTL })},
	{"IDEMPOTENCY_TTL", notSecret, "24h", "how long the answer to a request sent with an Idempotency-Key is kept and replayed to its repeats; then the daily job forgets it",
		durationSetting(func(c *Settings) *time.Duration { return &c.IdempotencyTTL })},
	{"COMPLAINT_ANSWER_DEADLINE", notSecret, "2mo", "how long a post office has to answer a citizen's complaint, from the day after it was filed: months (2mo) or days (15d); at most the two months of the Law on Postal Services, art. 39",
		func(c *Settings, v string) (err error) {
			c.ComplaintDeadline, err = complaint.ParseDeadline(v)
			return err
		}},
	{"PAYMENT_GATEWAY_SECRET", secret, "", "shared secret the bank or payment gateway signs payment callbacks with (HMAC-SHA256, as portals do); empty disables the callback",
		func(c *Settings, v string) error { c.PaymentSecret = v; return nil }},
	{"VIETQR_BANK_BIN", notSecret, "", "NAPAS BIN of the bank holding the post's collection account (e.g. 970415); with VIETQR_ACCOUNT, applicants and couriers' devices are shown VietQR codes for fees",
		func(c *Settings, v string) error {
			c.CollectionAccount.BankBIN = v
			return payment.CheckAccount(payment.Account{BankBIN: v, Number: "0"})
		}},
	{"VIETQR_ACCOUNT", notSecret, "", "the post's collection account number that VietQR codes pay into; empty: no codes are shown",
		func(c *Settings, v string) error {
			c.CollectionAccount.Number = v
			return payment.CheckAccount(payment.Account{BankBIN: "970415", Number: v})
		}},
	{"PORTAL_WEBHOOK_SECRET", secret, "", "shared secret public-service portals sign webhook calls with (HMAC-SHA256); empty disables the webhook",
		secretSetting(func(c *Settings) *string { return &c.PortalSecret })},
	{"OTP_SENDER", notSecret, "", "how citizens' one-time codes are sent: empty disables citizen login; sms through SMS_GATEWAY_URL; log writes codes to the log (development only: whoever reads the log can log in as any citizen)",
		func(c *Settings, v string) error {
			if v != "" && v != "log" && v != "sms" {
				return fmt.Errorf("must be empty, sms or log")
			}
			c.OTPSender = v
			return nil
		}},
	{"JOB_POLL_INTERVAL", notSecret, "1s", "how often background workers look for due jobs (at least 100ms)",
		func(c *Settings, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 100*time.Millisecond {
				return fmt.Errorf("must be a duration of at least 100ms")
			}
			c.JobPoll = d
			return nil
		}},
	{"JOB_WORKERS_NOTICES", notSecret, "5", "applicants' notices (SMS, Zalo) one process sends at once",
		intSetting(func(c *Settings) *int { return &c.JobWorkers.Notices }, 1, 1000)},
	{"JOB_WORKERS_WEBHOOKS", notSecret, "10", "webhook fanouts and deliveries to agencies' portals one process works at once (a slow portal holds a worker up to 15 s per try)",
		intSetting(func(c *Settings) *int { return &c.JobWorkers.Webhooks }, 1, 1000)},
	{"JOB_WORKERS_TIMERS", notSecret, "3", "dossier timers (hold expiries) one process works at once",
		intSetting(func(c *Settings) *int { return &c.JobWorkers.Timers }, 1, 1000)},
	{"JOB_WORKERS_RETENTION", notSecret, "1", "retention jobs one process works at once",
		intSetting(func(c *Settings) *int { return &c.JobWorkers.Retention }, 1, 100)},
	{"JOB_WORKERS_PLANS", notSecret, "1", "plans one process makes at once, each taking a core while it searches; more wait in the queue",
		intSetting(func(c *Settings) *int { return &c.JobWorkers.Plans }, 1, 64)},
	{"JOB_WORKERS_DEFAULT", notSecret, "2", "workers of River's default queue, which drains jobs an older release left there during an upgrade",
		intSetting(func(c *Settings) *int { return &c.JobWorkers.Default }, 1, 100)},
	{"SEED_PASSWORD", secret, "", "password `courierd seed` gives the demo accounts; empty: one is generated and printed once",
		func(c *Settings, v string) error { c.SeedPassword = v; return nil }},
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func intSetting(field func(*Settings) *int, min, max int) func(*Settings, string) error {
	return func(c *Settings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return fmt.Errorf("must be a whole number from %d to %d", min, max)
		}
		*field(c) = n
		return nil
	}
}

func dateSetting(field func(*Settings) *time.Time) func(*Settings, string) error {
	return func(c *Settings, v string) error {
		if v == "" {
			return nil
		}
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			return fmt.Errorf("must be a date as YYYY-MM-DD")
		}
		*field(c) = d
		return nil
	}
}

// secretSetting is a shared secret or token: none, or at least 32 characters.
func secretSetting(field func(*Settings) *string) func(*Settings, string) error {
	return func(c *Settings, v string) error {
		if v != "" && len(v) < 32 {
			return fmt.Errorf("at least 32 characters, so that it cannot be guessed")
		}
		*field(c) = v
		return nil
	}
}

func durationSetting(field func(*Settings) *time.Duration) func(*Settings, string) error {
	return func(c *Settings, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 15s or 2m")
		}
		*field(c) = d
		return nil
	}
}

// Defaults are the settings of an empty environment.
func Defaults() Settings {
	s, err := Load(func(string) string { return "" })
	if err != nil {
		panic(err) // every default is valid: TestSettings checks it
	}
	return s
}

// Load reads every setting, falling back to its default, and reports all bad
// values at once.
func Load(getenv func(string) string) (Settings, error) {
	var c Settings
	var faults []string
	for _, s := range settings {
		raw, err := s.read(getenv)
		if err == nil {
			if raw == "" {
				raw = s.fallback
			}
			err = s.apply(&c, raw)
		}
		if err != nil {
			faults = append(faults, fmt.Sprintf("%s: %v", s.name, err))
		}
	}
	// Through the pooler, LISTEN would hear nothing and the migrations' lock would stay
	// with a server connection: both need their own way to PostgreSQL.
	if c.DatabasePooler != "" && (c.DatabaseDirectURL == "" || c.DatabaseDirectURL == c.DatabaseURL) {
		faults = append(faults, "DATABASE_DIRECT_URL: must reach PostgreSQL itself, not through the pooler, when DATABASE_POOLER is set")
	}
	if len(faults) > 0 {
		return c, fmt.Errorf("bad configuration:\n  %s", strings.Join(faults, "\n  "))
	}
	return c, nil
}

// read is the setting's value as given: its variable, or for a secret the content of the
// file NAME_FILE names. Surrounding whitespace (a file's last newline) is trimmed. An
// error names the variables and the file, never what the file holds.
func (s setting) read(getenv func(string) string) (string, error) {
	raw, path := strings.TrimSpace(getenv(s.name)), getenv(s.name+"_FILE")
	switch {
	case path == "":
		return raw, nil
	case !s.secret:
		return "", fmt.Errorf("%s_FILE is set, but only secrets are read from files: set %s", s.name, s.name)
	case raw != "":
		return "", fmt.Errorf("both %s and %s_FILE are set: set one", s.name, s.name)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", s.name, err)
	}
	return strings.TrimSpace(string(content)), nil
}

// PrintSettings writes every setting with its default, as docs/CONFIGURATION.md lists them.
func PrintSettings(w io.Writer) {
	for _, s := range settings {
		fmt.Fprintf(w, "%s=%s\n    %s\n", s.name, s.fallback, s.help)
		if s.secret {
			fmt.Fprintf(w, "    a secret: or %s_FILE, a file that holds it\n", s.name)
		}
	}
}

// NewLogger writes to w at LOG_LEVEL, as LOG_FORMAT says.
func NewLogger(c Settings, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
