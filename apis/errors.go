package apis

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// apiError is PocketBase's error body. Field order follows PocketBase's
// output; SDKs read status, message and data.
type apiError struct {
	Data    map[string]any `json:"data"`
	Message string         `json:"message"`
	Status  int            `json:"status"`
}

// statusOf maps each core error code to its HTTP status.
var statusOf = map[core.ErrorCode]int{
	core.CodeInvalid:         http.StatusBadRequest,
	core.CodeUnauthenticated: http.StatusUnauthorized,
	core.CodeForbidden:       http.StatusForbidden,
	core.CodeNotFound:        http.StatusNotFound,
	core.CodeConflict:        http.StatusConflict,
	core.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	core.CodeRateLimited:     http.StatusTooManyRequests,
	core.CodeUnavailable:     http.StatusServiceUnavailable,
	core.CodeInternal:        http.StatusInternalServerError,
}

// defaultMessages are PocketBase's messages for errors that carry none.
var defaultMessages = map[int]string{
	http.StatusBadRequest:            "Something went wrong while processing your request.",
	http.StatusUnauthorized:          "Missing or invalid authentication.",
	http.StatusForbidden:             "You are not allowed to perform this request.",
	http.StatusNotFound:              "The requested resource wasn't found.",
	http.StatusRequestEntityTooLarge: "Request entity too large.",
	http.StatusTooManyRequests:       "Too Many Requests.",
	http.StatusServiceUnavailable:    "The service is temporarily unavailable. Please try again later.",
	http.StatusInternalServerError:   "Something went wrong while processing your request.",
}

func messageFor(status int, message string) string {
	if message != "" {
		return message
	}
	if m, ok := defaultMessages[status]; ok {
		return m
	}
	return http.StatusText(status) + "."
}

// responseError is an error that carries its complete body, for answers
// whose data nests deeper than core's field errors (a failed batch, nested
// settings errors). err is the cause, for logs and errors.Is.
type responseError struct {
	body apiError
	err  error
}

func (e *responseError) Error() string {
	if e.err != nil {
		return e.body.Message + ": " + e.err.Error()
	}
	return e.body.Message
}

func (e *responseError) Unwrap() error { return e.err }

// toAPIError converts any error to its status and body. Unknown errors are
// 500s whose cause stays out of the body.
func toAPIError(err error) apiError {
	var re *responseError
	if errors.As(err, &re) {
		return re.body
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		status, ok := statusOf[ce.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		data := map[string]any{}
		if len(ce.Fields) > 0 {
			data = nestFields(ce.Fields)
		}
		msg := ce.Message
		if status == http.StatusInternalServerError {
			msg = ""
		}
		return apiError{Status: status, Message: messageFor(status, msg), Data: data}
	}

	var mfa *core.MFARequiredError
	if errors.As(err, &mfa) {
		return apiError{Status: http.StatusUnauthorized, Message: "Multi-factor authentication required.", Data: map[string]any{}}
	}

	var he *echo.HTTPError
	if errors.As(err, &he) {
		status := he.Code
		// PocketBase has no 405: an unknown method on a known path is a 404.
		if status == http.StatusMethodNotAllowed {
			status = http.StatusNotFound
		}
		return apiError{Status: status, Message: messageFor(status, ""), Data: map[string]any{}}
	}

	status := http.StatusInternalServerError
	if core.IsUnavailable(err) {
		// The database is down or overloaded: tell clients to retry
		// rather than that something is broken.
		status = http.StatusServiceUnavailable
	}
	return apiError{
		Status:  status,
		Message: messageFor(status, ""),
		Data:    map[string]any{},
	}
}

// errorHandler is echo's HTTPErrorHandler: it writes every error in
// PocketBase's shape and logs the causes of 5xx ones.
func errorHandler(app *core.App) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		body := toAPIError(err)
		// A client that went away mid-request (its context is done) makes
		// the database calls fail too; that is not the server's failure.
		if body.Status >= 500 && !errors.Is(err, context.Canceled) && c.Request().Context().Err() == nil {
			app.Logger().Error("request failed",
				"error", err.Error(),
				"method", c.Request().Method,
				"path", c.Request().URL.Path,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			)
		}
		var writeErr error
		var mfa *core.MFARequiredError
		if errors.As(err, &mfa) {
			// Not an error body: PocketBase answers {"mfaId": ...} with a
			// 401, and its SDK reads the id from there.
			if err := c.JSON(http.StatusUnauthorized, map[string]string{"mfaId": mfa.MFAID}); err != nil {
				app.Logger().Debug("write mfa response", "error", err)
			}
			return
		}
		if c.Request().Method == http.MethodHead {
			writeErr = c.NoContent(body.Status)
		} else {
			writeErr = c.JSON(body.Status, body)
		}
		if writeErr != nil {
			app.Logger().Debug("write error response", "error", writeErr)
		}
	}
}

// errUnauthorized and friends are the auth errors PocketBase's clients know.
func errUnauthorized() error {
	return core.Errorf(core.CodeUnauthenticated, "The request requires valid record authorization token.")
}

func errNotSuperuser() error {
	return core.Errorf(core.CodeForbidden, "The authorized record is not allowed to perform this action.")
}

// nestFields turns dotted keys into nested objects. Keys are applied in
// sorted order; a leaf never hides a deeper error on the same path.
func nestFields(fields map[string]core.FieldError) map[string]any {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := map[string]any{}
	for _, key := range keys {
		node := out
		parts := strings.Split(key, ".")
		for _, p := range parts[:len(parts)-1] {
			child, ok := node[p].(map[string]any)
			if !ok {
				child = map[string]any{}
				node[p] = child
			}
			node = child
		}
		if _, taken := node[parts[len(parts)-1]]; !taken {
			node[parts[len(parts)-1]] = fields[key]
		}
	}
	return out
}
