package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/labstack/echo/v4"
)

// registerClusterRoutes mounts GET /api/hg/cluster: the live members of
// the cluster with their health, for superusers and callers allowed to
// read "admin:settings".
func registerClusterRoutes(g *echo.Group, app *core.App) {
	g.GET("/hg/cluster", func(c echo.Context) error {
		return c.JSON(http.StatusOK, app.Cluster().Status(c.Request().Context(), nil))
	}, RequireAdmin(app, authz.AdminSettings))
}

// canSeeCluster reports whether the caller of c may see the cluster
// members: a superuser, or an account allowed to read "admin:settings".
func canSeeCluster(app *core.App, c echo.Context) bool {
	ctx := c.Request().Context()
	actor := core.ActorFrom(ctx)
	if actor.IsGuest() {
		return false
	}
	ok, err := app.Can(ctx, authz.AdminSettings, authz.ActionRead)
	return err == nil && ok
}
