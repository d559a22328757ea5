package fieldsync

import "testing"

// KeptPayload is keptPayload, for the tests.
var KeptPayload = keptPayload

// KeepRules is how each payload field of typ is kept: "hash", "secret", "text" or "".
func KeepRules(typ string) map[string]string {
	out := map[string]string{}
	for name, rule := range mutationTypes[typ].kept {
		out[name] = string(rule)
	}
	return out
}

// Flagged lists, sorted, the types whose registry row sets flag ("completes" or
// "carriesFee"), read from the rows themselves.
func Flagged(flag string) []string {
	var out []string
	for _, typ := range MutationTypes() {
		row := mutationTypes[typ]
		if flag == "completes" && row.completes || flag == "carriesFee" && row.carriesFee {
			out = append(out, typ)
		}
	}
	return out
}

// RegisterLike registers typ with the row of like, as a new version of a type would be,
// until the test ends. Not for parallel tests: the registry is the process's.
func RegisterLike(t testing.TB, typ, like string) {
	row, ok := mutationTypes[like]
	if !ok {
		t.Fatalf("no mutation type %s", like)
	}
	mutationTypes[typ] = row
	t.Cleanup(func() { delete(mutationTypes, typ) })
}
