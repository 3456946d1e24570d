package apis

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"

	adminui "github.com/hatchgrid/hatchgrid/admin-ui"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// dashboardNonce is the placeholder Vite writes into index.html's script
// and style tags (html.cspNonce in admin-ui/vite.config.ts); each response
// replaces it with the nonce its policy allows.
const dashboardNonce = "HG_CSP_NONCE"

// dashboardCSP returns the Content-Security-Policy of every /_/ response
// for nonce. Only the dashboard's own bundle runs (the nonce'd module and
// what it imports: 'strict-dynamic'; not 'self', which would admit a .js
// uploaded to /api/files), no inline script, handler or eval; styles only
// from the nonce'd stylesheet, no inline style attributes; the API and
// realtime on this origin; images from here, data: and blob:; no plugins,
// <base>, form posts or framing. Trusted Types make an HTML sink (innerHTML,
// {@html}) throw on a plain string: only Svelte's compiled templates and
// DOMPurify's output may reach one. 'report-sample' puts the start of a
// refused inline script or style in the violation report, so a test (and
// an operator) can tell an attack's refused attempt from a broken screen:
// DOMPurify's parse of stored HTML makes such reports (Chromium checks the
// handlers and styles of a DOMParser document against the page's policy),
// harmless as that document is inert and the sanitiser drops them.
func dashboardCSP(nonce string) string {
	n := "'nonce-" + nonce + "'"
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + n + " 'strict-dynamic' 'report-sample'",
		"style-src " + n + " 'report-sample'",
		"img-src 'self' data: blob:",
		"connect-src 'self'",
		"font-src 'self'",
		"manifest-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types svelte-trusted-html dompurify",
	}, "; ")
}

// dashboardHeaders sets the security headers of the dashboard's responses,
// errors included, with a fresh nonce in the request's context for the
// index to use.
func dashboardHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		nonce := rand.Text() // 130 random bits
		c.Set(ctxDashboardNonce, nonce)
		h := c.Response().Header()
		h.Set(echo.HeaderContentSecurityPolicy, dashboardCSP(nonce))
		h.Set(echo.HeaderXFrameOptions, "DENY")
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		h.Set(echo.HeaderReferrerPolicy, "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		return next(c)
	}
}

// ctxDashboardNonce is the echo context key of the response's nonce.
const ctxDashboardNonce = "dashboardNonce"

// registerDashboard serves the embedded dashboard at /_/: hashed assets with
// a long cache, everything else falling back to index.html so the SPA's
// routes load on refresh.
func registerDashboard(e *echo.Echo) {
	files := adminui.FS()
	server := http.FileServer(http.FS(files))
	index, indexErr := fs.ReadFile(files, "index.html")

	e.GET("/_", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/_/")
	}, dashboardHeaders)
	handler := func(c echo.Context) error {
		name := strings.TrimPrefix(path.Clean("/"+c.Param("*")), "/")
		if name == "" {
			name = "index.html"
		}
		if _, err := fs.Stat(files, name); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if strings.HasPrefix(name, "assets/") {
				return echo.ErrNotFound
			}
			name = "index.html" // a client-side route
		}
		h := c.Response().Header()
		if name == "index.html" {
			if indexErr != nil {
				return echo.ErrNotFound // built without the dashboard
			}
			h.Set("Cache-Control", "no-cache")
			nonce, _ := c.Get(ctxDashboardNonce).(string)
			body := bytes.ReplaceAll(index, []byte(dashboardNonce), []byte(nonce))
			return c.Blob(http.StatusOK, "text/html; charset=utf-8", body)
		}
		if strings.HasPrefix(name, "assets/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		req := c.Request().Clone(c.Request().Context())
		req.URL.Path = "/" + name
		server.ServeHTTP(c.Response(), req)
		return nil
	}
	// The bundle compresses to a third of its size; browsers always ask.
	gzip := middleware.GzipWithConfig(middleware.GzipConfig{Level: 6})
	e.GET("/_/*", handler, dashboardHeaders, gzip)
	e.HEAD("/_/*", handler, dashboardHeaders, gzip)
}
