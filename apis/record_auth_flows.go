package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// The verification, password-reset, email-change and OTP routes of auth
// collections, PocketBase's. Requests about an email answer the same
// whether or not an account has it.
func registerAuthFlowRoutes(g *echo.Group, app *core.App) {
	h := authHandlers{app}
	g.POST("/collections/:collection/request-verification", h.requestVerification)
	g.POST("/collections/:collection/confirm-verification", h.confirmVerification)
	g.POST("/collections/:collection/request-password-reset", h.requestPasswordReset)
	g.POST("/collections/:collection/confirm-password-reset", h.confirmPasswordReset)
	g.POST("/collections/:collection/request-email-change", h.requestEmailChange)
	g.POST("/collections/:collection/confirm-email-change", h.confirmEmailChange)
	g.POST("/collections/:collection/request-otp", h.requestOTP)
	g.POST("/collections/:collection/auth-with-otp", h.authWithOTP)
}

// flow binds the body of an auth flow request for the collection in the
// path.
func (h authHandlers) flow(c echo.Context) (*core.Collection, map[string]any, error) {
	col, err := h.authCollection(c)
	if err != nil {
		return nil, nil, err
	}
	form, err := bindForm(c)
	return col, form, err
}

func (h authHandlers) requestVerification(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	if err := h.app.Auth().RequestVerification(c.Request().Context(), col, formString(form, "email")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h authHandlers) confirmVerification(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	if err := h.app.Auth().ConfirmVerification(c.Request().Context(), col, formString(form, "token")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h authHandlers) requestPasswordReset(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	if err := h.app.Auth().RequestPasswordReset(c.Request().Context(), col, formString(form, "email")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h authHandlers) confirmPasswordReset(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	err = h.app.Auth().ConfirmPasswordReset(c.Request().Context(), col,
		formString(form, "token"), formString(form, "password"), formString(form, "passwordConfirm"))
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// requestEmailChange needs the caller to be signed in to the collection.
func (h authHandlers) requestEmailChange(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	rec, err := callerOf(c, col)
	if err != nil {
		return err
	}
	if err := h.app.Auth().RequestEmailChange(c.Request().Context(), rec, formString(form, "newEmail")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h authHandlers) confirmEmailChange(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	err = h.app.Auth().ConfirmEmailChange(c.Request().Context(), col, formString(form, "token"), formString(form, "password"))
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h authHandlers) requestOTP(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	id, err := h.app.Auth().RequestOTP(c.Request().Context(), col, formString(form, "email"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"otpId": id})
}

func (h authHandlers) authWithOTP(c echo.Context) error {
	col, form, err := h.flow(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The attempts per record are core's to count (AuthWithOTP); the
	// guard adds the per-IP count of failures, against OTP id guessing.
	rec, err := h.guarded(c, "", func() (*core.Record, error) {
		return h.app.Auth().AuthWithOTP(ctx, col, formString(form, "otpId"), formString(form, "password"))
	})
	if err != nil {
		return err
	}
	return h.signIn(c, rec, "otp", form)
}
