package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

type authHandlers struct{ app *core.App }

func registerAuthRoutes(g *echo.Group, app *core.App) {
	h := authHandlers{app}
	g.POST("/collections/:collection/auth-with-password", h.authWithPassword, h.requireAuthCollection)
	g.POST("/collections/:collection/auth-refresh", h.authRefresh, h.requireAuthCollection)
}

// authResponse is PocketBase's {token, record}.
type authResponse struct {
	Token  string          `json:"token"`
	Record superuserRecord `json:"record"`
}

// superuserRecord is a _superusers record as clients see it.
type superuserRecord struct {
	CollectionID    string `json:"collectionId"`
	CollectionName  string `json:"collectionName"`
	ID              string `json:"id"`
	Email           string `json:"email"`
	EmailVisibility bool   `json:"emailVisibility"`
	Verified        bool   `json:"verified"`
	Created         string `json:"created"`
	Updated         string `json:"updated"`
}

func newSuperuserRecord(su *core.Superuser) superuserRecord {
	return superuserRecord{
		CollectionID:    su.CollectionID(),
		CollectionName:  core.SuperusersCollectionName,
		ID:              su.ID,
		Email:           su.Email,
		EmailVisibility: su.EmailVisibility,
		Verified:        su.Verified,
		Created:         su.Created,
		Updated:         su.Updated,
	}
}

// requireAuthCollection lets through the auth collections that exist. Until
// collections are dynamic that is _superusers, by name or id.
func (h authHandlers) requireAuthCollection(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := c.Param("collection")
		if name != core.SuperusersCollectionName && name != (&core.Superuser{}).CollectionID() {
			return core.Errorf(core.CodeNotFound, "Missing or invalid auth collection context.")
		}
		return next(c)
	}
}

func (h authHandlers) authWithPassword(c echo.Context) error {
	form, err := bindForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	su, err := h.app.Superusers().AuthWithPassword(ctx, formString(form, "identity"), formString(form, "password"))
	if err != nil {
		return err
	}
	return h.respond(c, su)
}

func (h authHandlers) authRefresh(c echo.Context) error {
	su := authSuperuser(c)
	if su == nil {
		return errUnauthorized()
	}
	if refreshable, _ := c.Get(ctxRefreshable).(bool); !refreshable {
		return core.Errorf(core.CodeForbidden, "The current auth token is not refreshable.")
	}
	return h.respond(c, su)
}

func (h authHandlers) respond(c echo.Context, su *core.Superuser) error {
	token, err := h.app.Superusers().NewAuthToken(c.Request().Context(), su)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, authResponse{Token: token, Record: newSuperuserRecord(su)})
}
