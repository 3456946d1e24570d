package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

type recordHandlers struct{ app *core.App }

func registerRecordRoutes(g *echo.Group, app *core.App) {
	h := recordHandlers{app}
	g.GET("/collections/:collection/records", h.list)
	g.POST("/collections/:collection/records", h.create)
	g.GET("/collections/:collection/records/:id", h.view)
	g.PATCH("/collections/:collection/records/:id", h.update)
	g.DELETE("/collections/:collection/records/:id", h.delete)
}

func (h recordHandlers) collection(c echo.Context) (*core.Collection, error) {
	col, err := h.app.Collections().Find(c.Param("collection"))
	if err != nil {
		return nil, core.Errorf(core.CodeNotFound, "Missing collection context.")
	}
	return col, nil
}

func (h recordHandlers) list(c echo.Context) error {
	col, err := h.collection(c)
	if err != nil {
		return err
	}
	params, err := pagingParams(c)
	if err != nil {
		return err
	}
	req := requestInfo(c, nil)
	q := core.RecordQuery{Filter: c.QueryParam("filter"), Sort: c.QueryParam("sort"), ListParams: params}
	result, err := h.app.Records().List(c.Request().Context(), col, q, req)
	if err != nil {
		return err
	}
	out := core.ListResult[map[string]any]{
		Page: result.Page, PerPage: result.PerPage, TotalItems: result.TotalItems, TotalPages: result.TotalPages,
		Items: make([]map[string]any, len(result.Items)),
	}
	if err := h.expand(c, req, result.Items...); err != nil {
		return err
	}
	for i, r := range result.Items {
		out.Items[i] = export(r, req)
	}
	return jsonPicked(c, http.StatusOK, out)
}

func (h recordHandlers) view(c echo.Context) error {
	col, err := h.collection(c)
	if err != nil {
		return err
	}
	req := requestInfo(c, nil)
	rec, err := h.app.Records().View(c.Request().Context(), col, c.Param("id"), req)
	if err != nil {
		return err
	}
	return h.respond(c, req, rec)
}

func (h recordHandlers) create(c echo.Context) error {
	col, err := h.collection(c)
	if err != nil {
		return err
	}
	body, err := bindForm(c)
	if err != nil {
		return err
	}
	req := requestInfo(c, body)
	rec, err := h.app.Records().Create(c.Request().Context(), col, body, req)
	if err != nil {
		return err
	}
	return h.respond(c, req, rec)
}

func (h recordHandlers) update(c echo.Context) error {
	col, err := h.collection(c)
	if err != nil {
		return err
	}
	body, err := bindForm(c)
	if err != nil {
		return err
	}
	req := requestInfo(c, body)
	rec, err := h.app.Records().Update(c.Request().Context(), col, c.Param("id"), body, req)
	if err != nil {
		return err
	}
	return h.respond(c, req, rec)
}

// expand loads the relations named by the expand query parameter into recs.
func (h recordHandlers) expand(c echo.Context, req *core.RequestInfo, recs ...*core.Record) error {
	paths := core.ParseExpand(c.QueryParam("expand"))
	if len(paths) == 0 {
		return nil
	}
	return h.app.Records().Expand(c.Request().Context(), recs, paths, req)
}

// respond writes one record, expanded and picked as the request asks.
func (h recordHandlers) respond(c echo.Context, req *core.RequestInfo, rec *core.Record) error {
	if err := h.expand(c, req, rec); err != nil {
		return err
	}
	return jsonPicked(c, http.StatusOK, export(rec, req))
}

func (h recordHandlers) delete(c echo.Context) error {
	col, err := h.collection(c)
	if err != nil {
		return err
	}
	if err := h.app.Records().Delete(c.Request().Context(), col, c.Param("id"), requestInfo(c, nil)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// requestInfo describes the request for API rules.
func requestInfo(c echo.Context, body map[string]any) *core.RequestInfo {
	r := c.Request()
	query := make(map[string]string, len(r.URL.Query()))
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	info := &core.RequestInfo{
		Method:  r.Method,
		Context: requestContext(c),
		Query:   query,
		Headers: core.NormalizeHeaders(r.Header),
		Body:    body,
	}
	if su := authSuperuser(c); su != nil {
		info.IsSuperuser = true
		info.Auth = map[string]any{
			"id": su.ID, "collectionId": su.CollectionID(), "collectionName": core.SuperusersCollectionName,
			"email": su.Email, "emailVisibility": su.EmailVisibility, "verified": su.Verified,
			"created": su.Created, "updated": su.Updated,
		}
	}
	return info
}

// export is a record as the requester may see it.
func export(r *core.Record, req *core.RequestInfo) map[string]any {
	return r.ExportFor(req)
}
