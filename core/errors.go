package core

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an Error; apis maps each code to one HTTP status.
type ErrorCode string

// The error codes. Keep this list in step with the status table in apis.
const (
	CodeInvalid         ErrorCode = "invalid"
	CodeUnauthenticated ErrorCode = "unauthenticated"
	CodeForbidden       ErrorCode = "forbidden"
	CodeNotFound        ErrorCode = "not_found"
	CodeConflict        ErrorCode = "conflict"
	CodeTooLarge        ErrorCode = "too_large"
	CodeRateLimited     ErrorCode = "rate_limited"
	CodeUnavailable     ErrorCode = "unavailable"
	CodeInternal        ErrorCode = "internal"
)

// FieldError is one field's validation failure, in PocketBase's terms:
// Code is e.g. "validation_required", Message a user-facing sentence.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the one error type core returns to its callers. Message is shown
// to users; Err is the cause, kept for logs and errors.Is/As, never shown.
type Error struct {
	Code    ErrorCode
	Message string
	Fields  map[string]FieldError
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with code and a formatted user-facing message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with code and message whose cause is err.
func Wrap(err error, code ErrorCode, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Invalid returns a validation Error with per-field details.
func Invalid(message string, fields map[string]FieldError) *Error {
	return &Error{Code: CodeInvalid, Message: message, Fields: fields}
}

// Required is the FieldError of a missing required value.
func Required() FieldError {
	return FieldError{Code: "validation_required", Message: "Cannot be blank."}
}

// ErrorCodeOf returns err's code, or CodeInternal for errors that are not
// core Errors.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
