package apis

import (
	"errors"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// registerInstallRoutes adds the first-run endpoint behind the one-time
// link that `serve` prints while no superuser exists. It is Hatchgrid's own
// route: PocketBase's installer works through a temporary superuser.
func registerInstallRoutes(g *echo.Group, app *core.App) {
	h := authHandlers{app}
	g.POST("/hg/install", h.install)
}

// install creates the first superuser from an install token and signs it
// in. The token stops working once any superuser exists.
func (h authHandlers) install(c echo.Context) error {
	form, err := bindForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = h.app.Superusers().VerifyInstallToken(ctx, formString(form, "token"))
	if errors.Is(err, core.ErrInvalidToken) {
		return core.Errorf(core.CodeForbidden, "The install link is invalid or expired, or a superuser already exists.")
	}
	if err != nil {
		return err
	}
	password := formString(form, "password")
	if password != formString(form, "passwordConfirm") {
		return core.Invalid("An error occurred while validating the submitted data.", map[string]core.FieldError{
			"passwordConfirm": {Code: "validation_values_mismatch", Message: "Values don't match."},
		})
	}
	rec, err := h.app.Superusers().Create(ctx, formString(form, "email"), password)
	if err != nil {
		return err
	}
	token, err := h.app.Auth().NewAuthToken(rec)
	if err != nil {
		return err
	}
	return h.authResponse(c, rec, token)
}
