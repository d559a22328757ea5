package fieldsync

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
