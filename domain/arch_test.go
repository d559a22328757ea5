package domain_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the house rules on imports (see docs/ARCHITECTURE.md):
// domain stays free of infrastructure, routing free of everything of ours, and the
// dossier free of the areas built on it.
func TestImportRules(t *testing.T) {
	rules := []struct {
		packages  string
		forbidden []string
	}{
		{"courierd/domain/...", []string{"gorm.io/", "github.com/gofiber/", "github.com/jackc/pgx", "net/http", "courierd/storage", "courierd/api"}},
		// The dossier is the aggregate the areas around it use: it knows none of them.
		{"courierd/domain/dossier", []string{"courierd/domain/applicant", "courierd/domain/counter", "courierd/domain/dispatch", "courierd/domain/fieldsync"}},
		// The applicants' side and the counter stand beside dispatch, each on the dossier alone.
		{"courierd/domain/applicant", []string{"courierd/domain/counter", "courierd/domain/dispatch", "courierd/domain/fieldsync"}},
		{"courierd/domain/counter", []string{"courierd/domain/applicant", "courierd/domain/dispatch", "courierd/domain/fieldsync"}},
		{"courierd/routing/...", []string{"courierd/domain", "courierd/storage", "courierd/api", "gorm.io/", "github.com/gofiber/", "net/http"}},
		{"courierd/storage/...", []string{"courierd/api", "github.com/gofiber/"}},
		{"courierd/api/...", []string{"courierd/storage", "gorm.io/", "github.com/jackc/pgx"}},
	}
	for _, rule := range rules {
		t.Run(rule.packages, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-test=false", rule.packages).CombinedOutput()
			if err != nil {
				t.Fatalf("go list %s: %v\n%s", rule.packages, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, bad := range rule.forbidden {
					if dep == bad || strings.HasPrefix(dep, bad) {
						t.Errorf("%s depends on %s", rule.packages, dep)
					}
				}
			}
		})
	}
}
