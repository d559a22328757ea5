package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/applicant"
	"courierd/domain/auth"
	"courierd/domain/complaint"
	"courierd/domain/counter"
	"courierd/domain/dispatch"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
	"courierd/domain/payment"
)

// Codes that only the HTTP edge produces.
const (
	codeUnsupportedMediaType domain.Code = "UNSUPPORTED_MEDIA_TYPE"
	codeRequestTimeout       domain.Code = "REQUEST_TIMEOUT"
	codeHeadersTooLarge      domain.Code = "HEADERS_TOO_LARGE"
)

// statusOf is the one map from error code to HTTP status.
var statusOf = map[domain.Code]int{
	domain.CodeValidationFailed:        fiber.StatusUnprocessableEntity,
	domain.CodeMalformedBody:           fiber.StatusBadRequest,
	domain.CodeBodyTooLarge:            fiber.StatusRequestEntityTooLarge,
	domain.CodeNotFound:                fiber.StatusNotFound,
	domain.CodeConflict:                fiber.StatusConflict,
	domain.CodeVersionConflict:         fiber.StatusConflict,
	domain.CodeUnauthenticated:         fiber.StatusUnauthorized,
	domain.CodeForbidden:               fiber.StatusForbidden,
	domain.CodeUnavailable:             fiber.StatusServiceUnavailable,
	domain.CodeInternal:                fiber.StatusInternalServerError,
	domain.CodeTooManyAttempts:         fiber.StatusTooManyRequests,
	codeTooManyRequests:                fiber.StatusTooManyRequests,
	auth.CodeUpgradeRequired:           fiber.StatusUpgradeRequired,
	auth.CodeDeviceNotBound:            fiber.StatusForbidden,
	auth.CodeDeviceBoundElsewhere:      fiber.StatusConflict,
	dossier.CodeInvalidTransition:      fiber.StatusConflict,
	dossier.CodeAttemptsExhausted:      fiber.StatusConflict,
	dossier.CodeNotInBag:               fiber.StatusConflict,
	dossier.CodeNotHeld:                fiber.StatusConflict,
	dossier.CodeOnManifest:             fiber.StatusConflict,
	dossier.CodeHandoverWrong:          fiber.StatusUnprocessableEntity,
	dossier.CodeHandoverExpired:        fiber.StatusUnprocessableEntity,
	dossier.CodeHandoverLocked:         fiber.StatusConflict,
	dossier.CodeIdentityMismatch:       fiber.StatusUnprocessableEntity,
	dossier.CodeProofMissing:           fiber.StatusUnprocessableEntity,
	dossier.CodeSlotFull:               fiber.StatusConflict,
	dossier.CodeBatchTooLarge:          fiber.StatusRequestEntityTooLarge,
	dossier.CodeDuplicateInBatch:       fiber.StatusConflict,
	applicant.CodeCourierOnTheWay:      fiber.StatusConflict,
	applicant.CodeNotRatable:           fiber.StatusConflict,
	complaint.CodeAlreadyOpen:          fiber.StatusConflict,
	complaint.CodeWrongState:           fiber.StatusConflict,
	dispatch.CodePlanStale:             fiber.StatusConflict,
	payment.CodeBadQR:                  fiber.StatusUnprocessableEntity,
	payment.CodeAmountMismatch:         fiber.StatusUnprocessableEntity,
	payment.CodeAlreadyPaid:            fiber.StatusConflict,
	payment.CodeAlreadyRemitted:        fiber.StatusConflict,
	fieldsync.CodeCashHandedIn:         fiber.StatusConflict,
	fieldsync.CodeNoCash:               fiber.StatusConflict,
	fieldsync.CodeCashChanged:          fiber.StatusConflict,
	dispatch.CodePlanNotDraft:          fiber.StatusConflict,
	dispatch.CodePlanRunning:           fiber.StatusConflict,
	dispatch.CodePlanNotRunning:        fiber.StatusConflict,
	dossier.CodeBadReceiptCode:         fiber.StatusBadRequest,
	counter.CodeBagNotEmpty:            fiber.StatusConflict,
	fieldsync.CodeTaskReassigned:       fiber.StatusConflict,
	fieldsync.CodeTaskCancelled:        fiber.StatusConflict,
	fieldsync.CodeTaskAlreadyCompleted: fiber.StatusConflict,
	fieldsync.CodeUnknownMutationType:  fiber.StatusUnprocessableEntity,
	fieldsync.CodeSequenceGap:          fiber.StatusConflict,
	fieldsync.CodeMutationIDReused:     fiber.StatusUnprocessableEntity,
	fieldsync.CodeHashMismatch:         fiber.StatusUnprocessableEntity,
	fieldsync.CodeUnsupportedKind:      fiber.StatusUnprocessableEntity,
	codeUnsupportedMediaType:           fiber.StatusUnsupportedMediaType,
	codeRequestTimeout:                 fiber.StatusRequestTimeout,
	codeHeadersTooLarge:                fiber.StatusRequestHeaderFieldsTooLarge,
	codeIdempotencyKeyInvalid:          fiber.StatusBadRequest,
	codeIdempotencyKeyReused:           fiber.StatusUnprocessableEntity,
	codeIdempotencyKeyInUse:            fiber.StatusConflict,
}

// fiberCodes gives a code to the errors fiber and fasthttp raise before a handler runs.
var fiberCodes = map[int]domain.Code{
	fiber.StatusNotFound:              domain.CodeNotFound,
	fiber.StatusRequestEntityTooLarge: domain.CodeBodyTooLarge,
	fiber.StatusUnsupportedMediaType:  codeUnsupportedMediaType,
	fiber.StatusRequestTimeout:        codeRequestTimeout,
	fiber.StatusBadRequest:            domain.CodeMalformedBody,
	// A request line or headers past the read buffer (a URL of kilobytes, say).
	fiber.StatusRequestHeaderFieldsTooLarge: codeHeadersTooLarge,
}

// retryAfterSeconds is what a client is told to wait while the database is away.
const retryAfterSeconds = "5"

// problem is the RFC 9457 body, with courierd's extension members code, request_id and
// errors (the fields at fault).
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Code      domain.Code    `json:"code"`
	RequestID string         `json:"request_id,omitempty"`
	Errors    []problemField `json:"errors,omitempty"`
	RelatedID string         `json:"related_id,omitempty"`
}

type problemField struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// problemType is the URI naming a problem code; the codes are listed in docs/API.md.
func problemType(code domain.Code) string {
	return "urn:courierd:problem:" + strings.ToLower(strings.ReplaceAll(string(code), "_", "-"))
}

// panicError carries a recovered panic to the error handler, which logs it once.
type panicError struct {
	value any
	stack []byte
}

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// errorHandler answers err as problem+json. Coded errors are the client's business and
// are not logged; anything else is logged once here, with the request id, and answered
// INTERNAL without detail.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := toProblem(c.UserContext(), err)
		p.RequestID = requestID(c)
		if p.RequestID == "" {
			// fasthttp refused the request (too large, unreadable) before any middleware ran.
			p.RequestID = uuid.NewString()
		}
		// A request the server chose to turn away for a while (with its Retry-After) is not
		// a failure to log: under a rush there would be thousands.
		shed := false
		if e, ok := domain.AsError(err); ok && e.RetryAfter > 0 {
			shed = true
		}
		if (p.Code == domain.CodeInternal || p.Code == domain.CodeUnavailable) && !shed {
			attrs := []any{"request_id", p.RequestID, "route", routeLabel(c), "error", err.Error()}
			var pe panicError
			if errors.As(err, &pe) {
				attrs = append(attrs, "stack", string(pe.stack))
			}
			log.Error("request failed", attrs...)
		}
		if p.Code == domain.CodeUnavailable {
			c.Set(fiber.HeaderRetryAfter, retryAfterSeconds)
		}
		if e, ok := domain.AsError(err); ok && e.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(e.RetryAfter.Seconds())))
		}
		c.Status(p.Status)
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.JSON(p, "application/problem+json")
	}
}

func toProblem(ctx context.Context, err error) problem {
	if e, ok := domain.AsError(err); ok {
		p := problem{Code: e.Code, Detail: e.Message, RelatedID: e.Related}
		for _, f := range e.Fields {
			p.Errors = append(p.Errors, problemField{Field: f.Field, Reason: f.Reason})
		}
		return finish(p)
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, known := fiberCodes[fe.Code]
		if !known {
			code = domain.CodeInternal
		}
		return finish(problem{Code: code, Detail: fe.Message})
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return finish(problem{Code: domain.CodeUnavailable, Detail: "the request took too long; retry shortly"})
	}
	return finish(problem{Code: domain.CodeInternal, Detail: "an internal error occurred; quote the request id when reporting it"})
}

func finish(p problem) problem {
	status, known := statusOf[p.Code]
	if !known {
		status = fiber.StatusInternalServerError
	}
	p.Status = status
	p.Type = problemType(p.Code)
	p.Title = titleOf(p.Code)
	return p
}

// titleOf is the short, fixed summary RFC 9457 asks for: one per code.
func titleOf(code domain.Code) string {
	words := strings.Split(strings.ToLower(string(code)), "_")
	words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	return strings.Join(words, " ")
}

// recoverPanics turns a panic in a handler into an error for errorHandler.
func recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{value: r, stack: debug.Stack()}
		}
	}()
	return c.Next()
}
