package apis

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"

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

// run fires the action's request hook around final, then writes the
// outcome unless a hook answered the request itself. e.Context carries
// e.Info; final hands the service e.Info as the hooks left it (infoCtx).
func (h recordHandlers) run(c echo.Context, action string, e *core.RecordRequestEvent, final func(*core.RecordRequestEvent) error) error {
	e.App, e.Request, e.Response = h.app, c.Request(), c.Response()
	e.Context = core.WithRequest(c.Request().Context(), e.Info)
	if err := h.app.TriggerRecordRequest(action, e, final); err != nil {
		return err
	}
	if c.Response().Committed {
		return nil
	}
	switch {
	case action == "delete":
		return c.NoContent(http.StatusNoContent)
	case e.Result != nil:
		if err := h.expand(c, e.Info, e.Result.Items...); err != nil {
			return err
		}
		out := core.ListResult[map[string]any]{
			Page: e.Result.Page, PerPage: e.Result.PerPage, TotalItems: e.Result.TotalItems, TotalPages: e.Result.TotalPages,
			Items: make([]map[string]any, len(e.Result.Items)),
		}
		for i, r := range e.Result.Items {
			out.Items[i] = export(r, e.Info)
		}
		return jsonPicked(c, http.StatusOK, out)
	case e.Record != nil:
		return h.respond(c, e.Info, e.Record)
	}
	return c.NoContent(http.StatusNoContent) // a hook skipped the action without answering
}

func (h recordHandlers) list(c echo.Context) error {
	col, err := h.collection(c)
	if err != nil {
		return err
	}
	params, err := PagingParams(c)
	if err != nil {
		return err
	}
	q := core.RecordQuery{Filter: c.QueryParam("filter"), Sort: c.QueryParam("sort"), ListParams: params}
	e := &core.RecordRequestEvent{Info: requestInfo(c, nil), Collection: col, Query: &q}
	return h.run(c, "list", e, func(e *core.RecordRequestEvent) error {
		var err error
		e.Result, err = h.app.Records().List(infoCtx(e), e.Collection, *e.Query)
		return err
	})
}

func (h recordHandlers) view(c echo.Context) error {
	col, err := h.collection(c)
	if err != nil {
		return err
	}
	e := &core.RecordRequestEvent{Info: requestInfo(c, nil), Collection: col, ID: c.Param("id")}
	return h.run(c, "view", e, func(e *core.RecordRequestEvent) error {
		var err error
		e.Record, err = h.app.Records().View(infoCtx(e), e.Collection, e.ID)
		return err
	})
}

func (h recordHandlers) create(c echo.Context) error {
	e, w, err := h.writeEvent(c, "")
	if err != nil {
		return err
	}
	return h.run(c, "create", e, func(e *core.RecordRequestEvent) error {
		body, err := w.body(e)
		if err != nil {
			return err
		}
		e.Record, err = h.app.Records().Create(infoCtx(e), e.Collection, body)
		return err
	})
}

func (h recordHandlers) update(c echo.Context) error {
	e, w, err := h.writeEvent(c, c.Param("id"))
	if err != nil {
		return err
	}
	return h.run(c, "update", e, func(e *core.RecordRequestEvent) error {
		body, err := w.body(e)
		if err != nil {
			return err
		}
		e.Record, err = h.app.Records().Update(infoCtx(e), e.Collection, e.ID, body)
		return err
	})
}

// writeEvent starts the request event of a create (id "") or an update of
// record id: it finds the collection, reads the body (capped at the
// collection's body limit) and resolves it into the final field values
// (core.RecordService.ResolveBody), which the request hooks, the rules
// and the expand of the response see as e.Body and @request.body.
func (h recordHandlers) writeEvent(c echo.Context, id string) (*core.RecordRequestEvent, *pendingWrite, error) {
	col, err := h.collection(c)
	if err != nil {
		return nil, nil, err
	}
	if err := limitBody(c, h.bodyLimit(col)); err != nil {
		return nil, nil, err
	}
	raw, err := bindForm(c)
	if err != nil {
		return nil, nil, err
	}
	info := requestInfo(c, nil)
	body, err := h.app.Records().ResolveBody(c.Request().Context(), col, id, raw)
	if err != nil {
		return nil, nil, err
	}
	info.Body = body
	w := &pendingWrite{h: h, raw: raw, resolved: deepCopy(body).(map[string]any)}
	return &core.RecordRequestEvent{Info: info, Collection: col, ID: id, Body: body}, w, nil
}

// pendingWrite is what the final link of a write needs to tell whether
// the request hooks changed the body.
type pendingWrite struct {
	h        recordHandlers
	raw      map[string]any // as sent
	resolved map[string]any // a copy of e.Body as the hooks got it
}

// body returns the body to hand the service, and sets e.Info.Body to the
// final values. Unless a hook changed e.Body, it is the body as sent: the
// service resolves it again against the row it reads (and locks) inside
// the write's transaction, so that concurrent "x+" writes all count.
func (w *pendingWrite) body(e *core.RecordRequestEvent) (map[string]any, error) {
	if reflect.DeepEqual(e.Body, w.resolved) {
		e.Info.Body = e.Body
		return w.raw, nil
	}
	resolved, err := w.h.app.Records().ResolveBody(infoCtx(e), e.Collection, e.ID, e.Body)
	if err != nil {
		return nil, err
	}
	e.Info.Body = resolved
	return e.Body, nil
}

// deepCopy copies the maps and lists of a body value, so that a hook
// changing one in place shows.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return slices.Clone(x)
	case json.RawMessage:
		return slices.Clone(x)
	}
	return v
}

// bodyLimit is the largest body a write to col may send: the server's
// limit plus room for every file its file fields can take.
func (h recordHandlers) bodyLimit(col *core.Collection) int64 {
	limit := int64(h.app.Config().Server.BodyLimit)
	for _, f := range col.Fields {
		if f.HoldsFiles() {
			limit += core.FileMaxSize(f) * int64(max(f.Options.MaxSelect, 1))
		}
	}
	return limit
}

// expand loads the relations named by the expand query parameter into recs.
func (h recordHandlers) expand(c echo.Context, req *core.RequestInfo, recs ...*core.Record) error {
	paths := core.ParseExpand(c.QueryParam("expand"))
	if len(paths) == 0 {
		return nil
	}
	return h.app.Records().Expand(core.WithRequest(c.Request().Context(), req), recs, paths)
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
	e := &core.RecordRequestEvent{Info: requestInfo(c, nil), Collection: col, ID: c.Param("id")}
	return h.run(c, "delete", e, func(e *core.RecordRequestEvent) error {
		return h.app.Records().Delete(infoCtx(e), e.Collection, e.ID)
	})
}

// infoCtx is e.Context carrying e.Info as the request hooks left it.
func infoCtx(e *core.RecordRequestEvent) context.Context {
	return core.WithRequest(e.Context, e.Info)
}

// export is a record as the requester may see it.
func export(r *core.Record, req *core.RequestInfo) map[string]any {
	return r.ExportFor(req)
}
