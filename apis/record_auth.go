package apis

import (
	"context"
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
	g.POST("/collections/:collection/impersonate/:id", h.impersonate, RequireSuperuser)
	registerOAuth2Routes(g, app)
	registerAuthFlowRoutes(g, app)
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
	identity := col.ID + ":" + formString(form, "identity")
	rec, err := h.guarded(c, identity, func() (*core.Record, error) {
		return h.app.Auth().AuthWithPassword(ctx, col, formString(form, "identity"), formString(form, "password"), formString(form, "identityField"))
	})
	if err != nil {
		return err
	}
	return h.signIn(c, rec, "password", form)
}

// guarded runs a credential check under the brute-force guard: too many
// recent failures for the identity or the client's IP refuse it before
// any work; a failed check counts one more; a successful one clears the
// identity's count and is never slowed.
func (h authHandlers) guarded(c echo.Context, identity string, check func() (*core.Record, error)) (*core.Record, error) {
	guard, ip := h.app.BruteForce(), c.RealIP()
	if err := guard.Check(identity, ip); err != nil {
		return nil, err
	}
	rec, err := check()
	switch {
	case err == nil:
		guard.Reset(identity)
	case core.ErrorCodeOf(err) == core.CodeInvalid:
		guard.Fail(identity, ip)
	}
	return rec, err
}

// signIn finishes a successful first or second factor: multi-factor
// authentication may still ask for another method (401 with an mfaId);
// otherwise the response is a fresh auth token and the record.
func (h authHandlers) signIn(c echo.Context, rec *core.Record, method string, form map[string]any) error {
	if err := h.checkAuthRule(c, rec, method, form); err != nil {
		return err
	}
	mfaID := formString(form, "mfaId")
	if mfaID == "" {
		mfaID = c.QueryParam("mfaId")
	}
	if err := h.app.Auth().CompleteAuth(c.Request().Context(), rec, method, mfaID); err != nil {
		return err
	}
	h.noteSignIn(c, rec)
	token, err := h.app.Auth().NewAuthToken(rec)
	if err != nil {
		return err
	}
	return h.authResponse(c, rec, token)
}

// checkAuthRule applies the collection's authRule to a sign-in of rec
// with method ("password", "otp", "oauth2"; "" for a refresh), before any
// second factor is asked for, as PocketBase does. The rule sees the
// request as sent: its body, and its caller as @request.auth.
func (h authHandlers) checkAuthRule(c echo.Context, rec *core.Record, method string, form map[string]any) error {
	info := requestInfo(c, form)
	if method != "" {
		info.Context = method
	}
	return h.app.Auth().CheckAuthRule(core.WithRequest(c.Request().Context(), info), rec)
}

// authRefresh answers a fresh token for the caller, who must belong to the
// collection in the path.
func (h authHandlers) authRefresh(c echo.Context) error {
	col, err := h.authCollection(c)
	if err != nil {
		return err
	}
	rec, err := callerOf(c, col)
	if err != nil {
		return err
	}
	if !core.RequestFrom(c.Request().Context()).Refreshable {
		return core.Errorf(core.CodeForbidden, "The current auth token is not refreshable.")
	}
	if err := h.checkAuthRule(c, rec, "", nil); err != nil {
		return err
	}
	token, err := h.app.Auth().NewAuthToken(rec)
	if err != nil {
		return err
	}
	return h.authResponse(c, rec, token)
}

// callerOf returns the signed-in record, which must belong to col: 401 for
// guests, 403 for records of another collection.
func callerOf(c echo.Context, col *core.Collection) (*core.Record, error) {
	rec := authRecord(c)
	if rec == nil {
		return nil, errUnauthorized()
	}
	if rec.Collection().ID != col.ID {
		return nil, core.Errorf(core.CodeForbidden, "The request requires auth record from %s collection.", rec.Collection().Name)
	}
	return rec, nil
}

// impersonate lets a superuser act as any auth record: a non-refreshable
// token valid for the requested duration (seconds; the collection's auth
// token duration when 0). The authRule does not apply: PocketBase lets
// superusers' requests through it.
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
	mfa, otp := col.Auth.MFAOptions(), col.Auth.OTPOptions()
	duration := func(enabled bool, d int64) int64 {
		if enabled {
			return d
		}
		return 0
	}
	return c.JSON(http.StatusOK, map[string]any{
		"password": map[string]any{"enabled": pa.Enabled, "identityFields": fields},
		"oauth2":   h.oauth2Methods(col),
		"mfa":      map[string]any{"enabled": mfa.Enabled, "duration": duration(mfa.Enabled, mfa.Duration)},
		"otp":      map[string]any{"enabled": otp.Enabled, "duration": duration(otp.Enabled, otp.Duration)},
	})
}

// noteSignIn records the device of a completed sign-in (and sends a login
// alert for a new one); a failure there never blocks the sign-in.
func (h authHandlers) noteSignIn(c echo.Context, rec *core.Record) {
	// Not the request's context: a client that hangs up right after signing
	// in must not leave the device half-recorded.
	ctx := context.WithoutCancel(c.Request().Context())
	if err := h.app.Auth().NoteSignIn(ctx, rec, c.RealIP(), c.Request().UserAgent()); err != nil {
		h.app.Logger().Warn("record sign-in origin", "record", rec.ID(), "error", err.Error())
	}
}
