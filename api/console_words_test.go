package api_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// consoleWords is the console's word table: language → key → words.
func consoleWords(t testing.TB) map[string]map[string]string {
	t.Helper()
	raw, err := os.ReadFile("web/src/console-words.json")
	if err != nil {
		t.Fatal(err)
	}
	var words map[string]map[string]string
	if err := json.Unmarshal(raw, &words); err != nil {
		t.Fatal(err)
	}
	return words
}

// TestConsoleWordsCoverServer walks every dossier event and state, task kind and state,
// failure reason, party, risk, plan state, unplanned reason and problem code the server
// can send the console, and fails when either of the console's languages has no words
// for one: the dispatcher would otherwise read a raw code.
func TestConsoleWordsCoverServer(t *testing.T) {
	words := consoleWords(t)
	// The API document is the server's own account of what its answers hold.
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	raw, err := os.ReadFile("../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	enumOf := func(schema, field string) []string {
		values := doc.Components.Schemas[schema].Properties[field].Enum
		if len(values) == 0 {
			t.Fatalf("the API document's %s.%s has no enum", schema, field)
		}
		return values
	}
	prefixed := func(prefix string, values []string) []string {
		out := make([]string, len(values))
		for i, v := range values {
			out[i] = prefix + v
		}
		return out
	}
	entries, err := problemRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, p := range entries {
		codes = append(codes, p.Code)
	}
	keys := map[string][]string{
		// "created" opens every ledger and history before any event of the enum.
		"dossier events":   prefixed("ev_", append(enumOf("Event", "event"), "created")),
		"dossier states":   prefixed("st_", enumOf("Dossier", "state")),
		"task states":      prefixed("task_", enumOf("Task", "state")),
		"task kinds":       enumOf("Task", "kind"),
		"failure reasons":  prefixed("fail_", enumOf("Task", "failure_reason")),
		"parties":          enumOf("Party", "kind"),
		"risks":            enumOf("DemandStop", "risk"),
		"plan states":      enumOf("Plan", "state"),
		"unplanned causes": {"in_bag", "no_courier", "no_room", "no_skill", "removed", "too_large", "window_unreachable"},
		"problem codes":    prefixed("err_", codes),
	}
	checked := 0
	for group, list := range keys {
		for _, key := range list {
			for _, lang := range []string{"vi", "en"} {
				checked++
				if strings.TrimSpace(words[lang][key]) == "" {
					t.Errorf("%s: %q has no words in %s", group, key, lang)
				}
			}
		}
	}
	// A Vietnamese word the same as the English is a translation forgotten.
	for key, vi := range words["vi"] {
		if en, ok := words["en"][key]; !ok {
			t.Errorf("%q is in vi only", key)
		} else if vi == en && vi != "km" {
			t.Errorf("%q reads %q in both languages", key, vi)
		}
	}
	t.Logf("%d keys checked across both languages", checked)
}
