package api

import "courierd/domain"

// StatusOf exposes the code → status map to the tests.
func StatusOf(code domain.Code) (int, bool) {
	status, ok := statusOf[code]
	return status, ok
}

// ProblemStatuses is every code the server answers with its status.
func ProblemStatuses() map[string]int {
	out := make(map[string]int, len(statusOf))
	for code, status := range statusOf {
		out[string(code)] = status
	}
	return out
}

// ProblemType is the type URI the server gives a code.
func ProblemType(code string) string { return problemType(domain.Code(code)) }
