package apis

import (
	"encoding/json"
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/labstack/echo/v4"
)

type settingsHandlers struct{ app *core.App }

func registerSettingsRoutes(g *echo.Group, app *core.App) {
	h := settingsHandlers{app}
	su := RequireAdmin(app, authz.AdminSettings)
	g.GET("/settings", h.list, su)
	g.PATCH("/settings", h.update, su)
	g.POST("/settings/test/s3", h.testS3, su)
	g.POST("/settings/test/email", h.testEmail, su)
}

// list returns the settings without their secrets.
func (h settingsHandlers) list(c echo.Context) error {
	return c.JSON(http.StatusOK, h.app.Settings().Redacted())
}

// update merges the submitted sections over the current settings (omitted
// fields, secrets included, keep their values; a sent array replaces the
// stored one), validates and saves them.
func (h settingsHandlers) update(c echo.Context) error {
	var patch json.RawMessage
	if err := bindJSON(c, &patch); err != nil {
		return err
	}
	next, err := h.app.Settings().Patched(patch)
	if err != nil {
		return errLoadBody(err)
	}
	if err := h.app.SaveSettings(c.Request().Context(), next); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.app.Settings().Redacted())
}

type testS3Input struct {
	Filesystem string `json:"filesystem"`
}

// testS3 checks the S3 settings of the "storage" or "backups" filesystem
// by writing, listing and deleting a test file: 204, or 400 with the
// service's raw error.
func (h settingsHandlers) testS3(c echo.Context) error {
	var in testS3Input
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	msg := "Failed to test the S3 filesystem."
	switch in.Filesystem {
	case "":
		return core.Invalid(msg, map[string]core.FieldError{"filesystem": core.Required()})
	case "storage", "backups":
	default:
		return core.Invalid(msg, map[string]core.FieldError{"filesystem": errInInvalid()})
	}
	s3 := h.app.Settings().S3
	if in.Filesystem == "backups" {
		s3 = h.app.Settings().Backups.S3
	}
	if err := h.app.TestS3(c.Request().Context(), s3); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// testEmail renders an auth email template with placeholder values and
// sends it to the given address: 204, or 400 with field errors or the
// mailer's raw error.
func (h settingsHandlers) testEmail(c echo.Context) error {
	var in core.TestEmail
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if err := h.app.SendTestEmail(c.Request().Context(), in); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func errInInvalid() core.FieldError {
	return core.FieldError{Code: "validation_in_invalid", Message: "Must be a valid value."}
}
