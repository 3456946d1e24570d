package audit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
)

// Routes implements apis.RouteProvider: the read-only audit API.
func (p *Plugin) Routes(g *echo.Group) {
	r := g.Group("/hg/audit", apis.RequireAdmin(p.app, Resource))
	r.GET("", p.list)
	r.GET("/:id", p.view)
}

// Entry is an audit entry as the API shows it.
type Entry struct {
	ID       string        `json:"id"`
	Created  string        `json:"created"`
	Actor    EntryActor    `json:"actor"`
	IP       string        `json:"ip"`
	Action   string        `json:"action"`
	Resource EntryResource `json:"resource"`
	Changes  Diff          `json:"changes"`
}

// EntryActor is who made the change.
type EntryActor struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Collection string `json:"collection"`
	Email      string `json:"email"`
}

// EntryResource is what changed: a collection (id, name), the settings,
// a policy (id, "subject resource action"), a role (its name) or a record
// (id, its collection's name).
type EntryResource struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (r *row) entry() Entry {
	d := Diff{}
	_ = json.Unmarshal([]byte(r.Changes), &d)
	return Entry{
		ID: r.ID, Created: r.Created, IP: r.IP, Action: r.Action, Changes: d,
		Actor:    EntryActor{Type: r.ActorType, ID: r.ActorID, Collection: r.ActorCollection, Email: r.ActorEmail},
		Resource: EntryResource{Kind: r.ResourceKind, ID: r.ResourceID, Name: r.ResourceName},
	}
}

// Query selects entries: each non-empty field must match exactly; Actor
// matches the actor's id or email, Resource the resource's id or name.
type Query struct {
	core.ListParams
	Kind     string
	Action   string
	Actor    string
	Resource string
}

// List returns one page of the entries that q selects, newest first.
func (p *Plugin) List(ctx context.Context, q Query) (*core.ListResult[Entry], error) {
	q.ListParams = core.NormalizePaging(q.ListParams)
	db := p.app.ReadDB(ctx).Model(&row{})
	if q.Kind != "" {
		db = db.Where(`"resourceKind" = ?`, q.Kind)
	}
	if q.Action != "" {
		db = db.Where(`"action" = ?`, q.Action)
	}
	if q.Actor != "" {
		db = db.Where(`("actorId" = ? OR "actorEmail" = ?)`, q.Actor, q.Actor)
	}
	if q.Resource != "" {
		db = db.Where(`("resourceId" = ? OR "resourceName" = ?)`, q.Resource, q.Resource)
	}
	res := &core.ListResult[Entry]{Page: q.Page, PerPage: q.PerPage, TotalItems: -1, TotalPages: -1, Items: []Entry{}}
	if !q.SkipTotal {
		var n int64
		if err := db.Session(&gorm.Session{}).Count(&n).Error; err != nil {
			return nil, err
		}
		res.TotalItems = int(n)
		res.TotalPages = (res.TotalItems + q.PerPage - 1) / q.PerPage
	}
	var rows []row
	if err := db.Order(`"seq" DESC`).Limit(q.PerPage).Offset((q.Page - 1) * q.PerPage).Find(&rows).Error; err != nil {
		return nil, err
	}
	for i := range rows {
		res.Items = append(res.Items, rows[i].entry())
	}
	return res, nil
}

// Find returns the entry id, or a not-found error.
func (p *Plugin) Find(ctx context.Context, id string) (Entry, error) {
	if !core.PlausibleID(id) {
		return Entry{}, core.Errorf(core.CodeNotFound, "The requested resource wasn't found.")
	}
	var r row
	err := p.app.ReadDB(ctx).Where(`"id" = ?`, id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Entry{}, core.Errorf(core.CodeNotFound, "The requested resource wasn't found.")
	}
	if err != nil {
		return Entry{}, err
	}
	return r.entry(), nil
}

func (p *Plugin) list(c echo.Context) error {
	params, err := apis.PagingParams(c)
	if err != nil {
		return err
	}
	q := Query{ListParams: params, Kind: c.QueryParam("kind"), Action: c.QueryParam("action"),
		Actor: c.QueryParam("actor"), Resource: c.QueryParam("resource")}
	for _, v := range []string{q.Kind, q.Action, q.Actor, q.Resource} {
		// No stored value holds these, and PostgreSQL refuses NUL in text.
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return core.Errorf(core.CodeInvalid, "Invalid filter value.")
		}
	}
	res, err := p.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (p *Plugin) view(c echo.Context) error {
	e, err := p.Find(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

var _ apis.RouteProvider = (*Plugin)(nil)
