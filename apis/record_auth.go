package apis

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

type authHandlers struct{ app *core.App }

func registerAuthRoutes(g *echo.Group, app *core.App) {
	h := authHandlers{app}
	g.GET("/collections/:collection/auth-methods", h.authMethods)
	g.POST("/collections/:collection/auth-with-password", h.authWithPassword)
	g.POST("/collections/:collection/auth-refresh", h.authRefresh)
	g.POST("/collections/:collection/impersonate/:id", h.impersonate, requireSuperuser)
	registerOAuth2Routes(g, app)
}

// authCollection returns the auth collection named in the path.
func (h authHandlers) authCollection(c echo.Context) (*core.Collection, error) {
	col, err := h.app.Collections().Find(c.Param("collection"))
	if err != nil || !col.IsAuth() {
		return nil, core.Errorf(core.CodeNotFound, "Missing or invalid auth collection context.")
	}
	return col, nil
}

// authResponse writes PocketBase's {token, record}; the record includes
// its email, as every auth response does.
func (h authHandlers) authResponse(c echo.Context, rec *core.Record, token string) error {
	caller := authRecord(c)
	showHidden := rec.Collection().Name == core.SuperusersCollectionName ||
		caller != nil && caller.Collection().Name == core.SuperusersCollectionName
	out := map[string]any{"token": token, "record": rec.PublicExport(core.ExportOptions{ShowHidden: showHidden, ShowEmail: true})}
	return jsonPicked(c, http.StatusOK, out)
}

func (h authHandlers) authWithPassword(c echo.Context) error {
	col, err := h.authCollection(c)
	if err != nil {
		return err
	}
	form, err := bindForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rec, err := h.app.Auth().AuthWithPassword(ctx, col, formString(form, "identity"), formString(form, "password"), formString(form, "identityField"))
	if err != nil {
		return err
	}
	token, err := h.app.Auth().NewAuthToken(rec)
	if err != nil {
		return err
	}
	return h.authResponse(c, rec, token)
}

// authRefresh answers a fresh token for the caller, who must belong to the
// collection in the path.
func (h authHandlers) authRefresh(c echo.Context) error {
	col, err := h.authCollection(c)
	if err != nil {
		return err
	}
	rec := authRecord(c)
	if rec == nil {
		return errUnauthorized()
	}
	if rec.Collection().ID != col.ID {
		return core.Errorf(core.CodeForbidden, "The request requires auth record from %s collection.", rec.Collection().Name)
	}
	if refreshable, _ := c.Get(ctxRefreshable).(bool); !refreshable {
		return core.Errorf(core.CodeForbidden, "The current auth token is not refreshable.")
	}
	token, err := h.app.Auth().NewAuthToken(rec)
	if err != nil {
		return err
	}
	return h.authResponse(c, rec, token)
}

// impersonate lets a superuser act as any auth record: a non-refreshable
// token valid for the requested duration (seconds; the collection's auth
// token duration when 0).
func (h authHandlers) impersonate(c echo.Context) error {
	col, err := h.authCollection(c)
	if err != nil {
		return err
	}
	form, err := bindForm(c)
	if err != nil {
		return err
	}
	var d time.Duration
	if raw := formString(form, "duration"); raw != "" {
		secs, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || secs < 0 {
			return core.Invalid("An error occurred while validating the submitted data.", map[string]core.FieldError{
				"duration": {Code: "validation_min_greater_equal_than_required", Message: "Must be no less than 0."},
			})
		}
		d = time.Duration(secs) * time.Second
	}
	rec, err := h.app.Records().Find(c.Request().Context(), col, c.Param("id"))
	if err != nil {
		return err
	}
	token, err := h.app.Auth().NewStaticAuthToken(rec, d)
	if err != nil {
		return err
	}
	return h.authResponse(c, rec, token)
}

// authMethods lists how records of the collection can sign in, in
// PocketBase's shape.
func (h authHandlers) authMethods(c echo.Context) error {
	col, err := h.authCollection(c)
	if err != nil {
		return err
	}
	pa := col.Auth.PasswordAuth
	fields := pa.IdentityFields
	if fields == nil {
		fields = []string{}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"password": map[string]any{"enabled": pa.Enabled, "identityFields": fields},
		"oauth2":   h.oauth2Methods(col),
		"mfa":      map[string]any{"enabled": false, "duration": 0},
		"otp":      map[string]any{"enabled": false, "duration": 0},
	})
}
