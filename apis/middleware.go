package apis

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// activityLogger writes one structured access-log line per request and
// queues the request log that /api/logs lists. It handles the handler's
// error itself so that the logged status is the one sent.
func activityLogger(app *core.App) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			elapsed := time.Since(start)
			if err == nil && !app.Config().Log.HealthRequests && isHealthProbe(req, res.Status) {
				return nil
			}

			entry := &core.RequestLog{
				Method:    req.Method,
				URL:       truncate(unescapedURI(req), 3000),
				Status:    res.Status,
				ExecTime:  float64(elapsed.Microseconds()) / 1000,
				UserIP:    c.RealIP(),
				RemoteIP:  remoteIP(req),
				Referer:   truncate(security.ScrubURL(req.Referer()), 2000),
				UserAgent: truncate(req.UserAgent(), 2000),
				Level:     requestLevel(req, res.Status, err),
				Time:      start,
			}
			if rec := authRecord(c); rec != nil {
				entry.Auth, entry.AuthID = rec.Collection().Name, rec.ID()
			}
			if err != nil {
				api := toAPIError(err)
				entry.Error = api.Message
				if len(api.Data) > 0 {
					entry.Details = api.Data
				}
			}

			app.Logger().LogAttrs(req.Context(), slog.LevelInfo, "request",
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", res.Status),
				slog.Float64("duration_ms", entry.ExecTime),
				slog.Int64("bytes_out", res.Size),
				slog.String("ip", entry.UserIP),
				slog.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
			)
			if !skipRequestLog(c, err) {
				app.Logs().AddRequest(entry)
			}
			return nil
		}
	}
}

// skipRequestLog leaves successful reads of the logs themselves and the
// dashboard's static files out of the stored logs, as PocketBase does.
func skipRequestLog(c echo.Context, err error) bool {
	if err != nil {
		return false
	}
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/api/logs") || strings.HasPrefix(p, "/_/")
}

// requestLevel is the level of a stored request log: error for a failed
// request, as in PocketBase, but a warning for a missing file outside the
// API (a browser asking for /favicon.ico, a stale dashboard asset), which
// is no failure of the server.
func requestLevel(r *http.Request, status int, err error) slog.Level {
	switch {
	case err == nil:
		return slog.LevelInfo
	case status == http.StatusNotFound && !isAPIPath(r.URL.Path):
		return slog.LevelWarn
	}
	return slog.LevelError
}

// isHealthProbe reports a successful health check: Docker's HEALTHCHECK
// and load balancers send one every few seconds, thousands a day, which
// would bury the requests worth reading (log.health_requests keeps them).
func isHealthProbe(r *http.Request, status int) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.URL.Path == "/api/health" && status >= 200 && status < 300
}

// isAPIPath reports whether path is under /api/, as opposed to the
// dashboard and other static files.
func isAPIPath(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/")
}

// unescapedURI is the request URI as logged: secret query values (file
// tokens, OAuth2 codes, ...) replaced first, while the URI is still
// escaped and its parameters can be told apart, then unescaped.
func unescapedURI(r *http.Request) string {
	uri := security.ScrubURL(r.RequestURI)
	if u, err := url.PathUnescape(uri); err == nil {
		return u
	}
	return uri
}

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// recoverer turns a panic into a 500 in PocketBase's shape, logging the
// panic and stack.
func recoverer(app *core.App) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		StackSize: 8 << 10,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			app.Logger().Error("panic while handling request",
				"error", err.Error(),
				"path", c.Request().URL.Path,
				"stack", string(stack),
			)
			return fmt.Errorf("recovered from panic: %w", err)
		},
	})
}

// bodyLimit refuses request bodies above limit with a 413.
//
// Record writes and batches are skipped here: their handlers apply a limit
// of their own that grows with the collection's file fields, as
// PocketBase's does, through limitBody.
func bodyLimit(limit core.ByteSize) echo.MiddlewareFunc {
	return middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: fmt.Sprintf("%dB", int64(limit)),
		Skipper: func(c echo.Context) bool {
			m := c.Request().Method
			if m != http.MethodPost && m != http.MethodPatch && m != http.MethodPut {
				return false
			}
			p := c.Path()
			// Backup archives outgrow any request limit: PocketBase sets
			// none on their upload, which only superusers may use.
			return p == "/api/batch" || p == "/api/collections/:collection/records" || p == "/api/collections/:collection/records/:id" ||
				p == "/api/backups/upload"
		},
	})
}

// limitBody caps the request body at limit bytes: a larger declared length
// is refused at once, a longer body fails when read; both are 413s.
func limitBody(c echo.Context, limit int64) error {
	req := c.Request()
	if req.ContentLength > limit {
		return core.Wrap(nil, core.CodeTooLarge, "")
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
	return nil
}

// securityHeaders sets PocketBase's security headers on every response.
func securityHeaders() echo.MiddlewareFunc {
	return middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:      "1; mode=block",
		ContentTypeNosniff: "nosniff",
		XFrameOptions:      "SAMEORIGIN",
	})
}

// cors applies the configured CORS origins with PocketBase's methods.
func cors(origins []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: origins,
		AllowMethods: []string{
			http.MethodGet, http.MethodHead, http.MethodPut,
			http.MethodPatch, http.MethodPost, http.MethodDelete,
		},
	})
}

// loadAuth builds the request's core.RequestInfo, once, and puts it in the
// request's context: the caller, from the Authorization header ("TOKEN"
// or "Bearer TOKEN"), and what rules may ask about the request. An invalid
// token leaves the request a guest's: only routes that need auth answer
// 401.
func loadAuth(app *core.App) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			info := newRequestInfo(c.Request())
			// The client IP rides along so that hooks (audit) see it;
			// c.RealIP applies settings.trustedProxy.
			info.ClientIP = c.RealIP()
			token := c.Request().Header.Get(echo.HeaderAuthorization)
			if len(token) > 7 && strings.EqualFold(token[:7], "Bearer ") {
				token = token[7:]
			}
			if token != "" {
				rec, refreshable, err := app.Auth().FindByAuthToken(c.Request().Context(), token)
				switch {
				case err == nil:
					info.SetAuth(rec)
					info.Refreshable = refreshable
				case !errors.Is(err, core.ErrInvalidToken):
					return err
				}
			}
			withRequestInfo(c, info)
			return next(c)
		}
	}
}

// RequireSuperuser answers 401 to guests and 403 to other callers.
func RequireSuperuser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor := core.ActorFrom(c.Request().Context())
		if actor.IsGuest() {
			return errUnauthorized()
		}
		if !actor.IsSuperuser() {
			return errNotSuperuser()
		}
		return next(c)
	}
}
