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
	guard := requireAdmin(app, authz.AdminLogs)
	g.GET("/logs", h.list, guard)
	g.GET("/logs/stats", h.stats, guard)
	g.GET("/logs/:id", h.view, guard)
}

func (h logHandlers) list(c echo.Context) error {
	params, err := listParams(c)
	if err != nil {
		return err
	}
	result, err := h.app.Logs().List(c.Request().Context(), params)
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
	if c.QueryParam("filter") != "" {
		return errUnsupportedFilter()
	}
	stats, err := h.app.Logs().Stats(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, stats)
}

// listParams reads the paging parameters of a logs list. Filtering and
// sorting arrive with the filter language.
func listParams(c echo.Context) (core.ListParams, error) {
	p, err := pagingParams(c)
	if err != nil {
		return p, err
	}
	if c.QueryParam("filter") != "" || c.QueryParam("sort") != "" {
		return p, errUnsupportedFilter()
	}
	return p, nil
}

// errUnsupportedFilter is returned until the filter language lands; a
// request that asks to filter must not silently get everything.
func errUnsupportedFilter() error {
	return core.Errorf(core.CodeInvalid, "Filtering and sorting are not supported on this route yet.")
}
