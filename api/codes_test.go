package api_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"courierd/api"
	"courierd/domain"
)

// TestEveryCodeHasAStatus finds every error code declared in domain and checks the edge
// knows its HTTP status: a code without one would reach clients as a 500.
func TestEveryCodeHasAStatus(t *testing.T) {
	declared := regexp.MustCompile(`(?m)^\s*(?:const\s+)?\w+\s+(?:domain\.)?Code\s*=\s*"([A-Z_]+)"`)
	readme, err := os.ReadFile(filepath.Join("..", "docs", "API.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	err = filepath.WalkDir(filepath.Join("..", "domain"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".go" {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range declared.FindAllStringSubmatch(string(src), -1) {
			found++
			if _, ok := api.StatusOf(domain.Code(m[1])); !ok {
				t.Errorf("%s declares %s, which has no HTTP status", path, m[1])
			}
			if !regexp.MustCompile("`" + m[1] + "`").Match(readme) {
				t.Errorf("%s declares %s, which the list of codes in docs/API.md lacks", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 15 {
		t.Fatalf("found only %d codes: the pattern no longer matches how codes are declared", found)
	}
}
