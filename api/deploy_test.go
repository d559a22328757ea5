package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
)

// The alert rules and the dashboard read series by name: a name courierd does not
// export is an alert that never fires, or an empty panel.

type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboardPanel is a Grafana panel: its queries, and a collapsed row's panels.
type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

var (
	promString  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promBraces  = regexp.MustCompile(`\{[^{}]*\}|\[[^\[\]]*\]`)
	promGroupBy = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promOffset  = regexp.MustCompile(`\boffset\s+\S+`)
	promName    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promWords   = []string{"and", "or", "unless", "bool", "inf", "nan"}
)

// metricNames are the series an expression reads: its identifiers, once strings, label
// matchers, ranges, grouping clauses, calls and keywords are taken out.
func metricNames(expr string) []string {
	expr = promString.ReplaceAllString(expr, `""`)
	expr = promBraces.ReplaceAllString(expr, " ")
	expr = promGroupBy.ReplaceAllString(expr, " ")
	expr = promOffset.ReplaceAllString(expr, " ")
	var names []string
	for _, m := range promName.FindAllStringSubmatch(expr, -1) {
		if m[1] == "" && !slices.Contains(promWords, strings.ToLower(m[0])) {
			names = append(names, m[0])
		}
	}
	return names
}

// notCourierds are the series the rules read from elsewhere: Prometheus's own for every
// target, and the blackbox exporter's probe of the public address, where TLS ends (courierd
// serves plain HTTP behind the balancer and holds no certificate).
var notCourierds = []string{"up", "probe_ssl_earliest_cert_expiry"}

// unexported are the names expr reads that the scrape lacks.
func unexported(scrape map[string]bool, expr string) []string {
	var out []string
	for _, name := range metricNames(expr) {
		if !scrape[name] && !slices.Contains(notCourierds, name) {
			out = append(out, name)
		}
	}
	return out
}

// anchor is the anchor GitHub gives a heading.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestMetricNamesOfExpressions(t *testing.T) {
	for expr, want := range map[string][]string{
		`up{job="courierd"} == 0`: {"up"},
		`sum(rate(a_total{status=~"5.."}[5m])) / sum(rate(a_total[5m])) > 0.02`:                             {"a_total", "a_total"},
		`histogram_quantile(0.99, sum by (le) (rate(b_bucket{route="/v1/x"}[$__rate_interval]))) > 2`:       {"b_bucket"},
		`max by (kind) (delta(c{state="discarded"}[1h])) > 0 and on (kind) d offset 1h unless e`:            {"c", "d", "e"},
		`sum by (group) (label_replace(rate(f[5m]), "group", "$1", "route", "/v1/([^/:]+).*")) > 1 * 86400`: {"f"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("%s: names %v, want %v", expr, got, want)
		}
	}
}

func TestAlertsAndDashboardReadExportedSeries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// Traffic that makes every labelled series appear: requests, and a push with a
	// fact the server cannot apply, which is quarantined.
	h.do(t, http.MethodGet, "/v1/procedures", "")
	task := pickupTask(h, t, h.assigned(t, "courier02"))
	if r := h.push(t, "courier02", mutation(1, uuid.NewString(), "task.teleport.v7", task, `{}`)); statuses(r) != "rejected:UNKNOWN_MUTATION_TYPE" {
		t.Fatalf("push: %d %s", r.status, r.raw)
	}
	m := h.do(t, http.MethodGet, "/metrics", "")
	if m.status != http.StatusOK {
		t.Fatalf("/metrics: %d", m.status)
	}
	scrape := map[string]bool{}
	for _, line := range strings.Split(m.raw, "\n") {
		if name, _, _ := strings.Cut(line, " "); name != "" && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			scrape[name] = true
		}
	}
	if bogus := unexported(scrape, `courierd_no_such_metric > 0`); !slices.Equal(bogus, []string{"courierd_no_such_metric"}) {
		t.Fatalf("a made-up series passes the check: %v", bogus)
	}

	ops, err := os.ReadFile("../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(ops), "\n") {
		if heading, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			anchors[anchor(heading)] = true
		}
	}

	raw, err := os.ReadFile("../deploy/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" || !slices.Contains([]string{"warning", "critical"}, r.Labels["severity"]) {
				t.Errorf("group %s: rule %q lacks a name, an expression, a summary or a severity", g.Name, r.Alert)
			}
			page, section, _ := strings.Cut(r.Annotations["runbook"], "#")
			if page != "docs/OPERATIONS.md" || !anchors[section] {
				t.Errorf("%s: runbook %q is no section of docs/OPERATIONS.md", r.Alert, r.Annotations["runbook"])
			}
			if missing := unexported(scrape, r.Expr); len(missing) > 0 || len(metricNames(r.Expr)) == 0 {
				t.Errorf("%s reads %v, which courierd does not export (%s)", r.Alert, missing, r.Expr)
			}
		}
	}
	if alerts < 10 {
		t.Fatalf("alerts.yaml holds %d rules", alerts)
	}

	raw, err = os.ReadFile("../deploy/grafana/courierd.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct{ Panels []dashboardPanel }
	if err := json.Unmarshal(raw, &dashboard); err != nil {
		t.Fatal(err)
	}
	queries := 0
	var check func(panels []dashboardPanel)
	check = func(panels []dashboardPanel) {
		for _, p := range panels {
			for _, q := range p.Targets {
				queries++
				if missing := unexported(scrape, q.Expr); len(missing) > 0 || len(metricNames(q.Expr)) == 0 {
					t.Errorf("panel %q reads %v, which courierd does not export (%s)", p.Title, missing, q.Expr)
				}
			}
			check(p.Panels)
		}
	}
	check(dashboard.Panels)
	if queries < 20 {
		t.Fatalf("the dashboard holds %d queries", queries)
	}
}
