package domain

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Codes are part of the public contract:
// clients branch on them, so a code is never renamed or reused for another meaning.
type Code string

const (
	CodeValidationFailed Code = "VALIDATION_FAILED"
	CodeMalformedBody    Code = "MALFORMED_BODY"
	CodeBodyTooLarge     Code = "BODY_TOO_LARGE"
	CodeNotFound         Code = "NOT_FOUND"
	CodeConflict         Code = "CONFLICT"
	CodeVersionConflict  Code = "VERSION_CONFLICT"
	CodeUnauthenticated  Code = "UNAUTHENTICATED"
	CodeForbidden        Code = "FORBIDDEN"
	CodeTooManyAttempts  Code = "TOO_MANY_ATTEMPTS"
	CodeUnavailable      Code = "UNAVAILABLE"
	CodeInternal         Code = "INTERNAL"
)

// FieldError names one input field that failed and why, in words a form can show.
type FieldError struct {
	Field  string
	Reason string
}

// Error is an error a client is meant to see: a stable code, a human message and, for
// validation, the fields at fault. Anything else reaching the edge is an internal error.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// RetryAfter, when set, is how long the client should wait before trying again.
	RetryAfter time.Duration
	// Related, when set, is the id of the record the problem is about (the plan still
	// running that refuses another), so that a client can go to it.
	Related string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s (%s: %s …)", e.Code, e.Message, e.Fields[0].Field, e.Fields[0].Reason)
}

// Errorf builds a coded error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns the coded error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ErrorCode returns err's code, INTERNAL for uncoded errors and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := AsError(err); ok {
		return e.Code
	}
	return CodeInternal
}

// Problems gathers field errors while a value is checked, so that a client learns every
// fault of a request at once instead of one per round trip.
type Problems struct {
	fields []FieldError
}

// Add records that field failed for reason.
func (p *Problems) Add(field, reason string) {
	p.fields = append(p.fields, FieldError{Field: field, Reason: reason})
}

// Check records reason against field when ok is false.
func (p *Problems) Check(ok bool, field, reason string) {
	if !ok {
		p.Add(field, reason)
	}
}

// Err is nil when nothing was recorded, else one VALIDATION_FAILED error listing every field.
func (p *Problems) Err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return &Error{Code: CodeValidationFailed, Message: "the request has invalid fields", Fields: p.fields}
}

// Invalid is a VALIDATION_FAILED error for a single field.
func Invalid(field, reason string) error {
	var p Problems
	p.Add(field, reason)
	return p.Err()
}
