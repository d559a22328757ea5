package api

import (
	"os"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// TestNoAdvisoryVersions holds the modules with known advisories at or above the release
// that fixed them, as direct requirements: fiber v2 asks for an older fasthttp, and a
// `go get` of fiber with the requirement gone indirect could quietly bring that one back.
// go.mod records the version every build selects.
func TestNoAdvisoryVersions(t *testing.T) {
	fixedIn := map[string]string{
		"github.com/valyala/fasthttp": "v1.70.0", // GO-2026-4950
	}
	raw, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.ParseLax("go.mod", raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, req := range mod.Require {
		fixed, watched := fixedIn[req.Mod.Path]
		if !watched {
			continue
		}
		seen[req.Mod.Path] = true
		if semver.Compare(req.Mod.Version, fixed) < 0 {
			t.Errorf("%s is at %s; the advisory against it is fixed in %s", req.Mod.Path, req.Mod.Version, fixed)
		}
		if req.Indirect {
			t.Errorf("%s is an indirect requirement: keep it direct so its version is chosen here", req.Mod.Path)
		}
	}
	for path := range fixedIn {
		if !seen[path] {
			t.Errorf("go.mod does not require %s", path)
		}
	}
}
