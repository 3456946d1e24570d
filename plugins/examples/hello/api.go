package hello

import (
	"encoding/json"
	"net/http"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// Routes implements apis.RouteProvider. g is the /api group, so these are
// /api/hello/...; they run behind the core middleware, which has already
// read the Authorization header into the request's actor.
//
//	GET  /api/hello/greetings  any authenticated record: the latest greetings
//	POST /api/hello/greetings  superusers: {"to":"..."} enqueues a greeting
func (p *Plugin) Routes(g *echo.Group) {
	r := g.Group("/hello", apis.RequireAuth)
	r.GET("/greetings", p.list)
	r.POST("/greetings", p.enqueue, apis.RequireSuperuser)
}

// list answers the latest 50 greetings, newest first, as a PocketBase
// list: {"page","perPage","totalItems","totalPages","items"}.
func (p *Plugin) list(c echo.Context) error {
	col, err := p.app.Collections().Find(p.Collection)
	if err != nil {
		return err
	}
	res, err := p.app.Records().List(core.AsSystem(c.Request().Context()), col, core.RecordQuery{
		Sort:       "-created,-id",
		ListParams: core.ListParams{Page: 1, PerPage: 50},
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// enqueue queues a hello.greet job and answers its id; the job stores the
// greeting, so it shows in list once a worker ran it.
func (p *Plugin) enqueue(c echo.Context) error {
	var in greeting
	if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil {
		return core.Errorf(core.CodeInvalid, "Failed to read the request body.")
	}
	if in.To == "" {
		return core.Invalid("Failed to enqueue the greeting.", map[string]core.FieldError{"to": core.Required()})
	}
	id, err := p.app.Jobs().Enqueue(c.Request().Context(), JobType, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"job": id})
}

var _ apis.RouteProvider = (*Plugin)(nil)
