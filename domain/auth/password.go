package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"courierd/domain"
)

// Argon2id parameters: OWASP's second recommended set (19 MiB, 2 passes, 1 lane), which
// keeps a login near 30 ms on one core of a small server while making guessing costly.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Password lengths: long enough to resist guessing, short enough that hashing cannot be
// turned against the server.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
)

// deriving admits argon2 derivations on half the cores at a time (at least one). Each
// holds 19 MiB and a core for about 30 ms: a burst of logins (a shift starting, or someone
// guessing) on every core would stall every other request behind it, the couriers' syncs
// included, and more at once than cores adds memory, not speed. Logins wait instead.
var deriving = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

func deriveKey(password, salt []byte, passes, memoryKiB uint32, threads uint8, keyLen uint32) []byte {
	deriving <- struct{}{}
	defer func() { <-deriving }()
	return argon2.IDKey(password, salt, passes, memoryKiB, threads, keyLen)
}

var errBadHash = errors.New("password hash is not an argon2id PHC string")

// CheckPasswordStrength refuses passwords that are too short or too long.
func CheckPasswordStrength(field, password string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen || len(password) > MaxPasswordLen {
		return domain.Invalid(field, fmt.Sprintf("must be %d to %d characters", MinPasswordLen, MaxPasswordLen))
	}
	return nil
}

// HashPassword derives an argon2id hash with a fresh salt from random, in the PHC string
// format ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so parameters can change later.
func HashPassword(password string, random io.Reader) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := deriveKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches encoded, in constant time.
func VerifyPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil || memory == 0 || passes == 0 || threads == 0 {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := deriveKey([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
