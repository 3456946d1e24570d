package apis

import (
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// RouteProvider is implemented by plugins that add HTTP routes. Their routes
// are mounted under /api/ with the same middleware (auth included) as the
// core routes.
type RouteProvider interface {
	Routes(g *echo.Group)
}

// NewRouter returns the full HTTP handler of app: middleware, the API under
// /api/ and the dashboard under /_/.
func NewRouter(app *core.App) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(app)
	// Client IPs come from the connection unless settings.trustedProxy
	// names the headers of a proxy in front.
	e.IPExtractor = realIP(app)

	cfg := app.Config().Server
	e.Use(
		middleware.RequestID(),
		cors(cfg.CORSOrigins),
		activityLogger(app),
		recoverer(app),
		securityHeaders(),
		bodyLimit(cfg.BodyLimit),
		loadAuth(app),
		rateLimit(app),
	)

	api := e.Group("/api")
	registerHealthRoutes(api, app)
	registerAuthRoutes(api, app)
	registerInstallRoutes(api, app)
	registerCollectionRoutes(api, app)
	registerRecordRoutes(api, app)
	registerFileRoutes(api, app)
	registerBatchRoutes(api, app)
	registerRealtimeRoutes(api, app)
	registerSettingsRoutes(api, app)
	registerLogRoutes(api, app)
	registerPolicyRoutes(api, app)
	registerJobRoutes(api, app)
	registerClusterRoutes(api, app)
	for _, p := range app.Plugins() {
		if rp, ok := p.(RouteProvider); ok {
			rp.Routes(api)
		}
	}
	registerDashboard(e)

	e.RouteNotFound("/*", func(c echo.Context) error { return echo.ErrNotFound })
	return e
}
