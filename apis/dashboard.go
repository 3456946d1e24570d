package apis

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"

	adminui "github.com/hatchgrid/hatchgrid/admin-ui"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// registerDashboard serves the embedded dashboard at /_/: hashed assets with
// a long cache, everything else falling back to index.html so the SPA's
// routes load on refresh.
func registerDashboard(e *echo.Echo) {
	files := adminui.FS()
	server := http.FileServer(http.FS(files))

	e.GET("/_", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/_/")
	})
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
		if strings.HasPrefix(name, "assets/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		req := c.Request().Clone(c.Request().Context())
		req.URL.Path = "/" + name
		if name == "index.html" {
			req.URL.Path = "/" // FileServer redirects /index.html to /
		}
		server.ServeHTTP(c.Response(), req)
		return nil
	}
	// The bundle compresses to a third of its size; browsers always ask.
	gzip := middleware.GzipWithConfig(middleware.GzipConfig{Level: 6})
	e.GET("/_/*", handler, gzip)
	e.HEAD("/_/*", handler, gzip)
}
