package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
	"courierd/domain/idempotency"
	"courierd/domain/pii"
)

// Codes of the Idempotency-Key header.
const (
	codeIdempotencyKeyInvalid domain.Code = "IDEMPOTENCY_KEY_INVALID"
	codeIdempotencyKeyReused  domain.Code = "IDEMPOTENCY_KEY_REUSED"
	codeIdempotencyKeyInUse   domain.Code = "IDEMPOTENCY_KEY_IN_USE"
)

const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
	maxIdempotencyKeyLen = 255
	// idempotencyLease is how long a request may run before a retry with its key may take
	// it over: longer than any request is let run (WRITE_TIMEOUT), short enough that a key
	// whose process died midway does not block its retries for long.
	idempotencyLease = time.Minute
)

// replayedHeaders are the headers of an answer a replay gives back besides its body.
var replayedHeaders = []string{fiber.HeaderContentType, fiber.HeaderLocation}

// idempotent makes authenticated POSTs honour Idempotency-Key (docs/PARTNERS.md): it runs
// after the guard, so the caller is known and keys are the caller's own.
type idempotent struct {
	store idempotency.Store
	seal  *pii.Keyring
	ttl   time.Duration
	now   func() time.Time
}

func (i *idempotent) handle(c *fiber.Ctx) error {
	raw := c.Request().Header.Peek(headerIdempotencyKey)
	if raw == nil || i.store == nil {
		return c.Next()
	}
	key := string(raw)
	if !validIdempotencyKey(key) {
		return domain.Errorf(codeIdempotencyKeyInvalid, "%s must be 1 to %d printable ASCII characters", headerIdempotencyKey, maxIdempotencyKeyLen)
	}
	ctx := c.UserContext()
	scope := callerScope(auth.PrincipalFrom(ctx))
	claim := idempotency.Claim{Scope: scope, Key: key, Hash: requestHash(c), Lease: uuid.NewString(), Now: i.now()}
	claim.LeaseUntil, claim.ExpiresAt = claim.Now.Add(idempotencyLease), claim.Now.Add(i.ttl)
	claimed, held, err := i.store.ClaimKey(ctx, claim)
	if err != nil {
		return err
	}
	// The seal binds the stored body to its caller and key: a row copied elsewhere opens not.
	sealContext := "idempotency:" + scope + ":" + key
	if !claimed {
		switch {
		case held.Hash != claim.Hash:
			return domain.Errorf(codeIdempotencyKeyReused, "this %s was used for another request; use a new key for a new request", headerIdempotencyKey)
		case !held.Done:
			return &domain.Error{Code: codeIdempotencyKeyInUse, RetryAfter: time.Second,
				Message: "a request with this " + headerIdempotencyKey + " is still being processed; retry after it is answered"}
		}
		body, err := i.seal.Open(held.Answer.SealedBody, sealContext)
		if err != nil {
			return err
		}
		for name, value := range held.Answer.Header {
			c.Set(name, value)
		}
		c.Set(headerReplayed, "true")
		return c.Status(held.Answer.Status).SendString(body)
	}

	// The answer is made here rather than by the observer, so that it can be stored.
	if err := c.Next(); err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	// The client has its answer whatever happens below; the request's context may end.
	ctx = context.WithoutCancel(ctx)
	status := c.Response().StatusCode()
	if !replayable(status) || c.Response().IsBodyStream() {
		// The answer stands either way; a key not released frees itself when its lease ends.
		_ = i.store.ReleaseKey(ctx, scope, key, claim.Lease)
		return nil
	}
	answer := idempotency.Answer{Status: status, Header: map[string]string{}}
	for _, name := range replayedHeaders {
		if v := c.GetRespHeader(name); v != "" {
			answer.Header[name] = v
		}
	}
	if answer.SealedBody, err = i.seal.Seal(string(c.Response().Body()), sealContext); err == nil {
		err = i.store.CompleteKey(ctx, scope, key, claim.Lease, answer)
	}
	if err != nil {
		// Not stored: a retry once the lease is over runs the request again.
		_ = i.store.ReleaseKey(ctx, scope, key, claim.Lease)
	}
	return nil
}

// replayable says which answers a repeat gets again: successes and the client's own
// mistakes. Failures of the server (5xx) and answers that depend on the moment (a
// timeout, a conflict with the current state, a throttle) are not kept, so that a retry
// can succeed.
func replayable(status int) bool {
	return status < fiber.StatusInternalServerError && !slices.Contains([]int{fiber.StatusRequestTimeout, fiber.StatusConflict,
		fiber.StatusTooEarly, fiber.StatusTooManyRequests}, status)
}

func validIdempotencyKey(key string) bool {
	if key == "" || len(key) > maxIdempotencyKeyLen {
		return false
	}
	for i := range len(key) {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// callerScope is whose keys a key is among: two callers' keys never meet.
func callerScope(p auth.Principal) string {
	if p.Role == auth.RoleCitizen {
		return string(p.Role) + ":" + p.PhoneIndex
	}
	return string(p.Role) + ":" + p.AccountID.String()
}

// requestHash fingerprints what makes a request the same request: its method, path with
// query, and body (the caller is the key's scope).
func requestHash(c *fiber.Ctx) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(c.Method()), c.Request().URI().RequestURI(), c.Body()} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}
