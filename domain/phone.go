package domain

import (
	"regexp"
	"strings"
)

var mobilePhone = regexp.MustCompile(`^0[35789][0-9]{8}$`)

// NormalizePhone turns the usual ways of writing a Vietnamese mobile number (+84…, 84…,
// spaces, dots) into the ten-digit national form, or returns "" when it is not one.
func NormalizePhone(raw string) string {
	s := strings.NewReplacer(" ", "", ".", "", "-", "").Replace(raw)
	switch {
	case strings.HasPrefix(s, "+84"):
		s = "0" + s[3:]
	case strings.HasPrefix(s, "84") && len(s) == 11:
		s = "0" + s[2:]
	}
	if !mobilePhone.MatchString(s) {
		return ""
	}
	return s
}
