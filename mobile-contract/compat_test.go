package mobilecontract_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"

	mobilecontract "courierd/mobile-contract"
)

// previousContract is the document of the previous version: the newest commit whose
// openapi.yaml states another version than the working copy's. A version may change over
// several commits before it lands; it is held against the one before it as a whole. It is
// not found outside a git checkout or in a shallow one.
func previousContract(t *testing.T, version string) ([]byte, string, bool) {
	git := func(args ...string) ([]byte, error) { return exec.Command("git", args...).Output() }
	revs, err := git("log", "--format=%H", "--", "openapi.yaml")
	if err != nil {
		return nil, "", false
	}
	for _, rev := range strings.Fields(string(revs)) {
		old, err := git("show", rev+":mobile-contract/openapi.yaml")
		if err != nil {
			return nil, "", false
		}
		spec, err := openapi3.NewLoader().LoadFromData(old)
		if err != nil {
			t.Fatalf("the contract at %s: %v", rev[:12], err)
		}
		if spec.Info.Version != version {
			return old, rev[:12], true
		}
	}
	return nil, "", false
}

// handledBreaks are changes oasdiff rates breaking that the server makes safe, each with
// how: the test lets them through only with their reason written here.
var handledBreaks = map[string]string{
	"response-property-enum-value-added pullChanges collection changes/items/data/kind 200": "stops of kind collection are sent only to apps of contract 1.1.0 or later (TestOlderAppsAreNotSentNewKindsOfStop)",
	// 1.4.0 wrote down the maxima the database columns always imposed: a value past them
	// was answered 500 before, and is now refused by name (api's TestIntegerBoundsFitTheirColumns).
	"request-property-max-set uploadBreadcrumbs points/items/seq 9.223372036854776e+18":   "the column's range, refused with 500 before",
	"request-property-max-set pushMutations mutations/items/seq 9.223372036854776e+18":    "the column's range, refused with 500 before",
	"request-property-max-set pushMutations mutations/items/task_version 2.147483647e+09": "the column's range, refused with 500 before",
}

// TestContractHasNoBreakingChange: the device contract only grows within a major version.
// oasdiff compares the document with its previous version; any change it rates an error
// (a removed operation or field, a narrowed type, a new required request field…) fails,
// unless the major version went up, which means a new path served beside the old.
func TestContractHasNoBreakingChange(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the previous contract cannot be read")
	}
	current, err := load.NewSpecInfoFromData(openapi3.NewLoader(), mobilecontract.OpenAPI, "openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	old, rev, ok := previousContract(t, current.Spec.Info.Version)
	if !ok {
		t.Skip("no earlier version of openapi.yaml in this checkout's history (not a git clone, or a shallow one)")
	}
	base, err := load.NewSpecInfoFromData(openapi3.NewLoader(), old, "openapi.yaml@"+rev)
	if err != nil {
		t.Fatalf("the contract at %s: %v", rev, err)
	}
	changelog, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(changelog, []byte("## "+current.Spec.Info.Version+" ")) {
		t.Errorf("CHANGELOG.md has no entry for %s, the contract's version", current.Spec.Info.Version)
	}
	major := func(s *load.SpecInfo) string { return strings.SplitN(s.Spec.Info.Version, ".", 2)[0] }
	if major(base) != major(current) {
		t.Skipf("the contract's major version went from %s to %s: breaking changes are allowed", base.Spec.Info.Version, current.Spec.Info.Version)
	}
	report, sources, err := diff.GetPathsDiff(diff.NewConfig(), []*load.SpecInfo{base}, []*load.SpecInfo{current})
	if err != nil {
		t.Fatal(err)
	}
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), report, sources, checker.ERR)
	localizer := checker.NewDefaultLocalizer()
	for _, c := range changes {
		if _, handled := handledBreaks[breakKey(c)]; handled {
			continue
		}
		t.Errorf("breaking change since %s (%s): %s", rev, breakKey(c), c.GetUncolorizedText(localizer))
	}
}

// breakKey names a change by its rule, operation and arguments.
func breakKey(c checker.Change) string {
	key := c.GetId() + " " + c.GetOperationId()
	for _, arg := range c.GetArgs() {
		key += " " + fmt.Sprint(arg)
	}
	return key
}
