package apis

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/labstack/echo/v4"
)

type collectionHandlers struct{ app *core.App }

func registerCollectionRoutes(g *echo.Group, app *core.App) {
	h := collectionHandlers{app}
	// Middleware per route rather than per group: echo's group middleware
	// would also run on unknown paths below the group and turn 404s into 401s.
	su := RequireAdmin(app, authz.AdminSchema)
	g.GET("/collections", h.list, su)
	g.POST("/collections", h.create, su)
	g.GET("/collections/meta/scaffolds", h.scaffolds, su)
	g.PUT("/collections/import", h.importCollections, su)
	g.GET("/collections/:collection", h.view, su)
	g.PATCH("/collections/:collection", h.update, su)
	g.DELETE("/collections/:collection", h.delete, su)
	g.DELETE("/collections/:collection/truncate", h.truncate, su)
}

func (h collectionHandlers) list(c echo.Context) error {
	params, err := PagingParams(c)
	if err != nil {
		return err
	}
	all, err := h.app.Collections().Filter(c.Request().Context(), c.QueryParam("filter"))
	if err != nil {
		return err
	}
	if err := sortCollections(all, c.QueryParam("sort")); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(all, params))
}

func (h collectionHandlers) view(c echo.Context) error {
	col, err := h.app.Collections().Find(c.Param("collection"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, col)
}

func (h collectionHandlers) create(c echo.Context) error {
	var in core.CollectionInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	col, err := h.app.Collections().Create(c.Request().Context(), &in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, col)
}

func (h collectionHandlers) update(c echo.Context) error {
	var in core.CollectionInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	col, err := h.app.Collections().Update(c.Request().Context(), c.Param("collection"), &in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, col)
}

func (h collectionHandlers) delete(c echo.Context) error {
	if err := h.app.Collections().Delete(c.Request().Context(), c.Param("collection")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h collectionHandlers) truncate(c echo.Context) error {
	if err := h.app.Collections().Truncate(c.Request().Context(), c.Param("collection")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h collectionHandlers) importCollections(c echo.Context) error {
	var in struct {
		Collections   []*core.CollectionInput `json:"collections"`
		DeleteMissing bool                    `json:"deleteMissing"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := h.app.Collections().Import(c.Request().Context(), in.Collections, in.DeleteMissing); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h collectionHandlers) scaffolds(c echo.Context) error {
	return c.JSON(http.StatusOK, h.app.Collections().Scaffolds())
}

// bindJSON decodes a JSON object body into dst. An empty body leaves dst
// as it is; anything that is not a JSON object of the right shape is a 400.
func bindJSON(c echo.Context, dst any) error {
	req := c.Request()
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		return readError(err)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return core.Errorf(core.CodeInvalid, "Unsupported Content-Type.")
	}
	if raw[0] != '{' {
		return errLoadBody(nil)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		return errLoadBody(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errLoadBody(errors.New("data after the JSON object"))
	}
	return nil
}

// PagingParams reads page, perPage and skipTotal into normalised
// core.ListParams; non-numeric values are 400s, as in PocketBase. Plugins
// use it for lists of their own.
func PagingParams(c echo.Context) (core.ListParams, error) {
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
	return core.NormalizePaging(p), nil
}

// page cuts one page out of items.
func page[T any](items []T, p core.ListParams) core.ListResult[T] {
	res := core.ListResult[T]{Page: p.Page, PerPage: p.PerPage, TotalItems: -1, TotalPages: -1, Items: []T{}}
	if !p.SkipTotal {
		res.TotalItems = len(items)
		res.TotalPages = (len(items) + p.PerPage - 1) / p.PerPage
	}
	start := (p.Page - 1) * p.PerPage
	if start < len(items) {
		res.Items = items[start:min(start+p.PerPage, len(items))]
	}
	return res
}

// sortCollections orders collections by a PocketBase sort string over the
// keys a collection list can be sorted by.
func sortCollections(cols []*core.Collection, sort string) error {
	if strings.TrimSpace(sort) == "" {
		return nil
	}
	keys := strings.Split(sort, ",")
	for _, k := range keys {
		name := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(k), "-"), "+")
		if !slices.Contains([]string{"id", "name", "type", "created", "updated", "system"}, name) {
			return core.Errorf(core.CodeInvalid, "Invalid sort field %q.", name)
		}
	}
	slices.SortStableFunc(cols, func(a, b *core.Collection) int {
		for _, k := range keys {
			k = strings.TrimSpace(k)
			desc := strings.HasPrefix(k, "-")
			name := strings.TrimPrefix(strings.TrimPrefix(k, "-"), "+")
			var c int
			switch name {
			case "id":
				c = strings.Compare(a.ID, b.ID)
			case "name":
				c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
			case "type":
				c = strings.Compare(a.Type, b.Type)
			case "created":
				c = strings.Compare(a.Created, b.Created)
			case "updated":
				c = strings.Compare(a.Updated, b.Updated)
			case "system":
				c = boolCompare(a.System, b.System)
			}
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return nil
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
