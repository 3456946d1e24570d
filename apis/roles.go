package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/labstack/echo/v4"
)

// policyHandlers serve Hatchgrid's own roles and policies API under
// /api/hg/, for superusers and callers allowed "admin:policies".
type policyHandlers struct{ app *core.App }

func registerPolicyRoutes(g *echo.Group, app *core.App) {
	h := policyHandlers{app}
	guard := RequireAdmin(app, authz.AdminPolicies)
	g.GET("/hg/policies", h.listPolicies, guard)
	g.POST("/hg/policies", h.createPolicy, guard)
	g.GET("/hg/policies/:id", h.viewPolicy, guard)
	g.PATCH("/hg/policies/:id", h.updatePolicy, guard)
	g.DELETE("/hg/policies/:id", h.deletePolicy, guard)

	g.GET("/hg/roles", h.listRoles, guard)
	g.GET("/hg/roles/:name", h.viewRole, guard)
	g.PUT("/hg/roles/:name", h.saveRole, guard)
	g.DELETE("/hg/roles/:name", h.deleteRole, guard)
	g.POST("/hg/roles/:name/members", h.addMember, guard)
	g.DELETE("/hg/roles/:name/members/guest", h.removeGuest, guard)
	g.DELETE("/hg/roles/:name/members/:collection/:record", h.removeMember, guard)

	g.GET("/hg/access", h.myAccess)
	g.GET("/hg/access/check", h.checkAccess, guard)
}

// myAccess tells the caller what it may do, so that the dashboard shows
// only the screens the API would let it use.
func (h policyHandlers) myAccess(c echo.Context) error {
	if core.ActorFrom(c.Request().Context()).IsGuest() {
		return errUnauthorized()
	}
	out, err := h.app.Policies().AccessOf(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// checkAccess is the effective access check: may a subject (subject, or
// collection and recordId) perform action on resource?
func (h policyHandlers) checkAccess(c echo.Context) error {
	q := c.QueryParams()
	in := core.AccessCheck{
		RoleMember: core.RoleMember{Subject: q.Get("subject"), CollectionName: q.Get("collection"), RecordID: q.Get("recordId")},
		Resource:   q.Get("resource"),
		Action:     q.Get("action"),
	}
	out, err := h.app.Policies().Check(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h policyHandlers) listPolicies(c echo.Context) error {
	params, err := PagingParams(c)
	if err != nil {
		return err
	}
	all, err := h.app.Policies().List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(all, params))
}

func (h policyHandlers) viewPolicy(c echo.Context) error {
	p, err := h.app.Policies().View(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h policyHandlers) createPolicy(c echo.Context) error {
	var in core.PolicyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := h.app.Policies().Create(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h policyHandlers) updatePolicy(c echo.Context) error {
	var in core.PolicyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := h.app.Policies().Update(c.Request().Context(), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h policyHandlers) deletePolicy(c echo.Context) error {
	if err := h.app.Policies().Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h policyHandlers) listRoles(c echo.Context) error {
	params, err := PagingParams(c)
	if err != nil {
		return err
	}
	all, err := h.app.Policies().Roles(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(all, params))
}

func (h policyHandlers) viewRole(c echo.Context) error {
	r, err := h.app.Policies().Role(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h policyHandlers) saveRole(c echo.Context) error {
	var in core.RoleInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	r, err := h.app.Policies().SaveRole(c.Request().Context(), c.Param("name"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h policyHandlers) deleteRole(c echo.Context) error {
	if err := h.app.Policies().DeleteRole(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h policyHandlers) addMember(c echo.Context) error {
	var in core.RoleMember
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	r, err := h.app.Policies().AddRoleMember(c.Request().Context(), c.Param("name"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h policyHandlers) removeMember(c echo.Context) error {
	m := core.RoleMember{CollectionID: c.Param("collection"), RecordID: c.Param("record")}
	if err := h.app.Policies().RemoveRoleMember(c.Request().Context(), c.Param("name"), m); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h policyHandlers) removeGuest(c echo.Context) error {
	m := core.RoleMember{Subject: authz.Guest}
	if err := h.app.Policies().RemoveRoleMember(c.Request().Context(), c.Param("name"), m); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
