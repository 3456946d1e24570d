package apis

import (
	"encoding/json"
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// registerOAuth2Routes mounts OAuth2 sign-in and the external-auth links
// of auth records.
func registerOAuth2Routes(g *echo.Group, app *core.App) {
	h := authHandlers{app}
	g.POST("/collections/:collection/auth-with-oauth2", h.authWithOAuth2)
	g.GET("/collections/:collection/records/:id/external-auths", h.listExternalAuths)
	g.DELETE("/collections/:collection/records/:id/external-auths/:provider", h.unlinkExternalAuth)
}

// oauth2Methods is the "oauth2" entry of auth-methods.
func (h authHandlers) oauth2Methods(col *core.Collection) map[string]any {
	return map[string]any{"enabled": col.Auth.OAuth2.Enabled, "providers": h.app.Auth().OAuth2Methods(col)}
}

// authWithOAuth2 signs in with an OAuth2 code and answers {token, record,
// meta}, meta carrying the provider's profile and tokens.
func (h authHandlers) authWithOAuth2(c echo.Context) error {
	col, err := h.authCollection(c)
	if err != nil {
		return err
	}
	form, err := bindForm(c)
	if err != nil {
		return err
	}
	in := core.OAuth2Request{
		Provider: formString(form, "provider"), Code: formString(form, "code"),
		CodeVerifier: formString(form, "codeVerifier"), RedirectURL: formString(form, "redirectURL"),
		CreateData: createData(form["createData"]),
	}
	if in.RedirectURL == "" {
		in.RedirectURL = formString(form, "redirectUrl") // before v0.23
	}
	res, err := h.app.Auth().AuthWithOAuth2(core.WithRequest(c.Request().Context(), requestInfo(c, in.CreateData)), col, in)
	if err != nil {
		return err
	}
	// As in PocketBase, a record created or linked above stays when the
	// authRule then refuses the sign-in.
	if err := h.checkAuthRule(c, res.Record, "oauth2", form); err != nil {
		return err
	}
	mfaID := formString(form, "mfaId")
	if mfaID == "" {
		mfaID = c.QueryParam("mfaId")
	}
	if err := h.app.Auth().CompleteAuth(c.Request().Context(), res.Record, "oauth2", mfaID); err != nil {
		return err
	}
	h.noteSignIn(c, res.Record)
	token, err := h.app.Auth().NewAuthToken(res.Record)
	if err != nil {
		return err
	}
	u := res.User
	expiry := ""
	if !res.Token.Expiry.IsZero() {
		expiry = core.FormatTime(res.Token.Expiry)
	}
	meta := map[string]any{
		"id": u.ID, "name": u.Name, "username": u.Username, "email": u.Email, "avatarURL": u.AvatarURL,
		"accessToken": res.Token.AccessToken, "refreshToken": res.Token.RefreshToken, "expiry": expiry,
		"isNew": res.IsNew, "rawUser": u.Raw,
	}
	record := res.Record.PublicExport(core.ExportOptions{ShowEmail: true})
	return jsonPicked(c, http.StatusOK, map[string]any{"token": token, "record": record, "meta": meta})
}

// createData reads the createData of a sign-in: an object in JSON bodies,
// a JSON string in forms.
func createData(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case string:
		var m map[string]any
		if json.Unmarshal([]byte(x), &m) == nil {
			return m
		}
	}
	return map[string]any{}
}

// externalAuthOwner returns the record in the path if the caller is that
// record or a superuser.
func (h authHandlers) externalAuthOwner(c echo.Context) (*core.Record, error) {
	col, err := h.authCollection(c)
	if err != nil {
		return nil, err
	}
	caller := authRecord(c)
	if caller == nil {
		return nil, errUnauthorized()
	}
	isSuperuser := caller.Collection().Name == core.SuperusersCollectionName
	if !isSuperuser && (caller.Collection().ID != col.ID || caller.ID() != c.Param("id")) {
		return nil, core.Errorf(core.CodeForbidden, "The authorized record is not allowed to perform this action.")
	}
	return h.app.Records().Find(c.Request().Context(), col, c.Param("id"))
}

func (h authHandlers) listExternalAuths(c echo.Context) error {
	rec, err := h.externalAuthOwner(c)
	if err != nil {
		return err
	}
	links, err := h.app.Auth().ExternalAuths(c.Request().Context(), rec)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(links))
	for i, l := range links {
		out[i] = l.PublicExport(core.ExportOptions{})
	}
	return jsonPicked(c, http.StatusOK, out)
}

func (h authHandlers) unlinkExternalAuth(c echo.Context) error {
	rec, err := h.externalAuthOwner(c)
	if err != nil {
		return err
	}
	if err := h.app.Auth().UnlinkExternalAuth(c.Request().Context(), rec, c.Param("provider")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
