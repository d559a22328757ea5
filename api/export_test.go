package api

import "courierd/domain"

// StatusOf exposes the code → status map to the tests.
func StatusOf(code domain.Code) (int, bool) {
	status, ok := statusOf[code]
	return status, ok
}
