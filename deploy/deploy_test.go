// Package deploy_test holds the deployment files to what courierd is: every file parses,
// every environment variable they set is a setting, the probes ask paths courierd serves on
// the port it listens on, and the Dockerfile builds the image make image builds.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"courierd/cmd/courierd/app"
	"courierd/deploy/image"
)

// settings are the names courierd reads: its settings, each also as NAME_FILE, and the
// S3 keys its settings' listing names.
func settings(t *testing.T) (names map[string]bool, defaults map[string]string) {
	t.Helper()
	var listing bytes.Buffer
	app.PrintSettings(&listing)
	names, defaults = map[string]bool{}, map[string]string{}
	for line := range strings.Lines(listing.String()) {
		if name, value, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(line, " ") {
			names[name], names[name+"_FILE"], defaults[name] = true, true, value
		}
	}
	return names, defaults
}

// servedPaths are the paths courierd's server routes outside its API, read from its source.
func servedPaths(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../api/server.go")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, m := range regexp.MustCompile(`app\.Get\("(/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		paths = append(paths, m[1])
	}
	if !slices.Contains(paths, "/readyz") || !slices.Contains(paths, "/healthz") {
		t.Fatalf("api/server.go routes %v: the probes' paths are gone", paths)
	}
	return paths
}

// docs reads every YAML document in file.
func docs(t *testing.T, file string) []map[string]any {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc != nil {
			out = append(out, doc)
		}
	}
}

// at walks a parsed document: keys for maps, indexes for lists; nil when absent.
func at(v any, path ...any) any {
	for _, step := range path {
		switch key := step.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[key]
		case int:
			l, _ := v.([]any)
			if key >= len(l) {
				return nil
			}
			v = l[key]
		}
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func TestEveryYAMLParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			n++
			if len(docs(t, path)) == 0 {
				t.Errorf("%s holds no document", path)
			}
		}
		return err
	})
	if err != nil || n < 8 {
		t.Fatalf("%d YAML files, %v", n, err)
	}
}

func checkNames(t *testing.T, where string, known map[string]bool, names []string) {
	t.Helper()
	if len(names) == 0 {
		t.Errorf("%s sets no environment variable: the check reads the wrong place", where)
	}
	for _, name := range names {
		if !known[name] {
			t.Errorf("%s sets %s, which is not a courierd setting (cmd/courierd/app/settings.go)", where, name)
		}
	}
}

func TestCompose(t *testing.T) {
	known, defaults := settings(t)
	compose := docs(t, "compose.yaml")[0]
	services, _ := at(compose, "services").(map[string]any)
	var courierds []string
	for name, svc := range services {
		if img, _ := at(svc, "image").(string); !strings.Contains(img, "COURIERD_IMAGE") {
			continue
		}
		courierds = append(courierds, name)
		env, _ := at(svc, "environment").(map[string]any)
		var names []string
		for k := range env {
			names = append(names, k)
		}
		checkNames(t, "compose.yaml's "+name, known, names)
		if at(svc, "read_only") != true {
			t.Errorf("compose.yaml's %s: the root file system must be read-only", name)
		}
	}
	slices.Sort(courierds)
	if !slices.Equal(courierds, []string{"courierd", "migrate"}) {
		t.Fatalf("courierd's services: %v", courierds)
	}
	if cmd := list(at(services, "migrate", "command")); fmt.Sprint(cmd) != "[migrate up]" {
		t.Errorf("the migrate service runs %v", cmd)
	}
	if at(services, "courierd", "depends_on", "migrate", "condition") != "service_completed_successfully" {
		t.Error("courierd must start after the migration has completed")
	}
	if ports := list(at(services, "courierd", "ports")); len(ports) != 1 || !strings.HasSuffix(ports[0].(string), ":"+defaults["PORT"]) {
		t.Errorf("courierd's published ports %v: courierd listens on %s", ports, defaults["PORT"])
	}
	if grace := duration(t, at(services, "courierd", "stop_grace_period")); grace <= duration(t, defaults["SHUTDOWN_TIMEOUT"]) {
		t.Errorf("stop_grace_period %v leaves serve no time past SHUTDOWN_TIMEOUT", grace)
	}
	if at(services, "osrm", "profiles", 0) != "osrm" {
		t.Error("OSRM is an option: under the osrm profile")
	}
}

func duration(t *testing.T, v any) time.Duration {
	t.Helper()
	s := fmt.Sprint(v)
	if _, err := strconv.Atoi(s); err == nil {
		s += "s" // Kubernetes' and systemd's plain seconds
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %v: %v", v, err)
	}
	return d
}

func TestKubernetes(t *testing.T) {
	known, defaults := settings(t)
	paths := servedPaths(t)
	byKind := map[string][]map[string]any{}
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, file := range files {
		for _, doc := range docs(t, file) {
			kind, _ := doc["kind"].(string)
			byKind[kind] = append(byKind[kind], doc)
		}
	}
	config := byKind["ConfigMap"][0]
	data, _ := config["data"].(map[string]any)
	var names []string
	for name := range data {
		names = append(names, name)
	}
	checkNames(t, "the ConfigMap", known, names)
	port := defaults["PORT"]
	if p, ok := data["PORT"]; ok {
		port = fmt.Sprint(p)
	}
	shutdown := defaults["SHUTDOWN_TIMEOUT"]
	if s, ok := data["SHUTDOWN_TIMEOUT"]; ok {
		shutdown = fmt.Sprint(s)
	}

	for _, kind := range []string{"Deployment", "Job"} {
		if len(byKind[kind]) != 1 {
			t.Fatalf("%d %ss, want one", len(byKind[kind]), kind)
		}
		pod := at(byKind[kind][0], "spec", "template", "spec")
		if at(pod, "securityContext", "runAsNonRoot") != true || fmt.Sprint(at(pod, "securityContext", "runAsUser")) != fmt.Sprint(image.UID) {
			t.Errorf("the %s's pods must run as %d, not root", kind, image.UID)
		}
		c := at(pod, "containers", 0)
		if at(c, "securityContext", "readOnlyRootFilesystem") != true || at(c, "securityContext", "allowPrivilegeEscalation") != false {
			t.Errorf("the %s's container: read-only root and no privilege escalation", kind)
		}
		if at(c, "resources", "requests") == nil || at(c, "resources", "limits", "memory") == nil {
			t.Errorf("the %s's container asks for no resources", kind)
		}
		var env []string
		for _, e := range list(at(c, "env")) {
			env = append(env, at(e, "name").(string))
		}
		if kind == "Job" {
			checkNames(t, "the migration Job", known, env)
			if fmt.Sprint(at(c, "args")) != "[migrate up]" {
				t.Errorf("the migration Job runs %v", at(c, "args"))
			}
			continue
		}
		if len(env) > 0 {
			checkNames(t, "the Deployment", known, env)
		}
		if at(c, "envFrom", 0, "configMapRef", "name") != at(config, "metadata", "name") {
			t.Error("the Deployment does not read the ConfigMap")
		}
		ports := map[string]string{}
		for _, p := range list(at(c, "ports")) {
			number := fmt.Sprint(at(p, "containerPort"))
			ports[fmt.Sprint(at(p, "name"))], ports[number] = number, number
		}
		if len(ports) != 2 || ports["http"] != port {
			t.Errorf("the container's ports %v: courierd listens on %s", ports, port)
		}
		for probe, want := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
			get := at(c, probe, "httpGet")
			if path := at(get, "path"); path != want || !slices.Contains(paths, want) || ports[fmt.Sprint(at(get, "port"))] != port {
				t.Errorf("%s asks %v on port %v; courierd serves %s on %s", probe, path, at(get, "port"), want, port)
			}
		}
		grace := duration(t, at(pod, "terminationGracePeriodSeconds"))
		preStop := duration(t, at(c, "lifecycle", "preStop", "sleep", "seconds"))
		if grace <= preStop+duration(t, shutdown) {
			t.Errorf("terminationGracePeriodSeconds %v does not cover preStop's %v and SHUTDOWN_TIMEOUT %s", grace, preStop, shutdown)
		}
		for _, svc := range byKind["Service"] {
			if target := fmt.Sprint(at(svc, "spec", "ports", 0, "targetPort")); ports[target] != port {
				t.Errorf("the Service sends to %s, not courierd's port", target)
			}
		}
	}
	for _, kind := range []string{"Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Secret", "Kustomization"} {
		if len(byKind[kind]) == 0 {
			t.Errorf("deploy/k8s has no %s", kind)
		}
	}
}

// unit reads a systemd unit's assignments, in order.
func unit(t *testing.T, file string) [][2]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if key, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out = append(out, [2]string{key, value})
		}
	}
	return out
}

// envNames are the names a systemd Environment= value assigns ("A=1 B=2", quoted or not).
func envNames(value string) []string {
	var names []string
	for _, field := range regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(value, -1) {
		name, _, _ := strings.Cut(strings.Trim(field, `"`), "=")
		names = append(names, name)
	}
	return names
}

func TestSystemd(t *testing.T) {
	known, defaults := settings(t)
	var names, pre, start []string
	var stop time.Duration
	for _, kv := range unit(t, "systemd/courierd.service") {
		switch kv[0] {
		case "Environment":
			names = append(names, envNames(kv[1])...)
		case "ExecStartPre":
			pre = append(pre, kv[1])
		case "ExecStart":
			start = append(start, kv[1])
		case "TimeoutStopSec":
			stop = duration(t, kv[1])
		}
	}
	checkNames(t, "courierd.service", known, names)
	var fileNames []string
	for _, kv := range unit(t, "systemd/courierd.env") {
		fileNames = append(fileNames, kv[0])
	}
	checkNames(t, "courierd.env", known, fileNames)
	if len(pre) != 1 || !strings.HasSuffix(pre[0], "courierd migrate up") || len(start) != 1 || !strings.HasSuffix(start[0], "courierd serve") {
		t.Errorf("the unit migrates with %q and serves with %q", pre, start)
	}
	if stop <= duration(t, defaults["SHUTDOWN_TIMEOUT"]) {
		t.Errorf("TimeoutStopSec %v leaves serve no time past SHUTDOWN_TIMEOUT", stop)
	}
}

// TestDockerfile: the Dockerfile's runtime stage is the image make image builds.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// The last stage's instructions, continuation lines joined.
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	stages := regexp.MustCompile(`(?m)^FROM `).Split(text, -1)
	got := map[string][]string{}
	for line := range strings.Lines(stages[len(stages)-1]) {
		if fields := strings.Fields(line); len(fields) > 1 && !strings.HasPrefix(fields[0], "#") {
			got[fields[0]] = append(got[fields[0]], strings.Join(fields[1:], " "))
		}
	}
	quoted := func(args []string) string { return `["` + strings.Join(args, `", "`) + `"]` }
	want := map[string][]string{
		"USER":       {image.User},
		"ENTRYPOINT": {quoted(image.Entrypoint)},
		"CMD":        {quoted(image.Cmd)},
		"WORKDIR":    {image.DataDir},
		"EXPOSE":     {image.Port},
		"VOLUME":     {quoted([]string{image.DataDir})},
		"ENV":        {strings.Join(image.Env, " ")},
	}
	for instruction, w := range want {
		if !slices.Equal(got[instruction], w) {
			t.Errorf("the Dockerfile's %s is %q; make image's is %q", instruction, got[instruction], w)
		}
	}
	if !strings.HasPrefix(stages[len(stages)-1], "scratch") {
		t.Errorf("the runtime stage is FROM %s: make image's base is empty", strings.Fields(stages[len(stages)-1])[0])
	}
	var copied []string
	for _, args := range got["COPY"] {
		fields := strings.Fields(args)
		copied = append(copied, fields[len(fields)-1])
	}
	for _, dest := range []string{image.CACerts, image.ZoneInfo, image.Binary, image.DataDir, "/etc/"} {
		if !slices.Contains(copied, dest) {
			t.Errorf("the runtime stage copies nothing to %s (it copies to %v)", dest, copied)
		}
	}
}
