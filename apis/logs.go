package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/labstack/echo/v4"
)

type logHandlers struct{ app *core.App }

func registerLogRoutes(g *echo.Group, app *core.App) {
	h := logHandlers{app}
	guard := RequireAdmin(app, authz.AdminLogs)
	g.GET("/logs", h.list, guard)
	g.GET("/logs/stats", h.stats, guard)
	g.GET("/logs/:id", h.view, guard)
}

func (h logHandlers) list(c echo.Context) error {
	params, err := PagingParams(c)
	if err != nil {
		return err
	}
	q := core.LogQuery{ListParams: params, Filter: c.QueryParam("filter"), Sort: c.QueryParam("sort")}
	result, err := h.app.Logs().List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, result)
}

func (h logHandlers) view(c echo.Context) error {
	log, err := h.app.Logs().FindByID(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, log)
}

func (h logHandlers) stats(c echo.Context) error {
	stats, err := h.app.Logs().Stats(c.Request().Context(), c.QueryParam("filter"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, stats)
}
