package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// The caller and what it sent travel in the request's context as one
// core.RequestInfo, built by loadAuth; nothing about identity is kept in
// echo's context, so that handlers, services and hooks read the same value.

// newRequestInfo describes r for API rules (@request.method, .query,
// .headers, .context "default"), without a caller or body yet.
func newRequestInfo(r *http.Request) *core.RequestInfo {
	info := core.RequestFrom(r.Context())
	query := make(map[string]string, len(r.URL.Query()))
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	info.Method, info.Query, info.Headers = r.Method, query, core.NormalizeHeaders(r.Header)
	if info.Context == "" {
		info.Context = "default"
	}
	return info
}

// requestInfo returns the request info of c's request with body as
// @request.body: a copy, the handler's to change.
func requestInfo(c echo.Context, body map[string]any) *core.RequestInfo {
	info := core.RequestFrom(c.Request().Context())
	info.Body = body
	return info
}

// authRecord returns the auth record authenticated for c, or nil.
func authRecord(c echo.Context) *core.Record {
	return core.RequestFrom(c.Request().Context()).AuthRecord()
}

// withRequestInfo makes info the request info of c's request.
func withRequestInfo(c echo.Context, info *core.RequestInfo) {
	c.SetRequest(c.Request().WithContext(core.WithRequest(c.Request().Context(), info)))
}
