package apis

import (
	"net/http"
	"strconv"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

type logHandlers struct{ app *core.App }

func registerLogRoutes(g *echo.Group, app *core.App) {
	h := logHandlers{app}
	logs := g.Group("/logs", requireSuperuser)
	logs.GET("", h.list)
	logs.GET("/stats", h.stats)
	logs.GET("/:id", h.view)
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

// listParams reads page, perPage and skipTotal. Non-numeric values are
// 400s, as in PocketBase.
func listParams(c echo.Context) (core.ListParams, error) {
	var p core.ListParams
	for name, dst := range map[string]*int{"page": &p.Page, "perPage": &p.PerPage} {
		raw := c.QueryParam(name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return p, core.Wrap(err, core.CodeInvalid, "")
		}
		*dst = n
	}
	if raw := c.QueryParam("skipTotal"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return p, core.Wrap(err, core.CodeInvalid, "")
		}
		p.SkipTotal = b
	}
	if c.QueryParam("filter") != "" || c.QueryParam("sort") != "" {
		return p, errUnsupportedFilter()
	}
	return core.NormalizePaging(p), nil
}

// errUnsupportedFilter is returned until the filter language lands; a
// request that asks to filter must not silently get everything.
func errUnsupportedFilter() error {
	return core.Errorf(core.CodeInvalid, "Filtering and sorting are not supported on this route yet.")
}
