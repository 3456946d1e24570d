package apis_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// fakeProvider is an OAuth2 provider with a token endpoint that checks the
// code and PKCE verifier, and a user-info endpoint.
type fakeProvider struct {
	*httptest.Server
	mu    sync.Mutex
	codes map[string]map[string]any // code -> user; the verifier is "v-"+code
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	f := &fakeProvider{codes: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		code := r.PostForm.Get("code")
		f.mu.Lock()
		_, ok := f.codes[code]
		f.mu.Unlock()
		id, secret, basic := r.BasicAuth()
		if !basic {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok || r.PostForm.Get("code_verifier") != "v-"+code || id != "cid" || secret != "top-secret-value" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		w.Write([]byte(`{"access_token":"at-` + code + `","token_type":"Bearer","refresh_token":"rt","expires_in":3600}`))
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer at-")
		f.mu.Lock()
		user, ok := f.codes[code]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "{}", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(user)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProvider) grant(code string, user map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes[code] = user
}

func (f *fakeProvider) options(enabled bool) string {
	b, _ := json.Marshal(map[string]any{"enabled": enabled, "providers": []any{map[string]any{
		"name": "oidc", "clientId": "cid", "clientSecret": "top-secret-value", "displayName": "Test IdP",
		"authURL": f.URL + "/authorize", "tokenURL": f.URL + "/token", "userInfoURL": f.URL + "/userinfo"}}})
	return string(b)
}

func oauth2Body(code string) string {
	return `{"provider":"oidc","code":"` + code + `","codeVerifier":"v-` + code + `","redirectURL":"https://app.example.com/cb",
		"createData":{"name":"From createData"}}`
}

func TestOAuth2API(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t)
	e := newEnv(t, coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.EncryptionKey = "0123456789abcdef0123456789abcdef" })))
	mustCollection(t, e.app, `{"name":"users","type":"auth","createRule":"","fields":[{"name":"name","type":"text"}],"oauth2":`+f.options(true)+`}`)
	mustCollection(t, e.app, `{"name":"closed","type":"auth","createRule":"","oauth2":`+f.options(false)+`}`)
	f.grant("first", map[string]any{"sub": "ext-1", "name": "Ann", "email": "ann@example.com", "email_verified": true})
	f.grant("again", map[string]any{"sub": "ext-1", "name": "Ann", "email": "ann@example.com", "email_verified": true})
	f.grant("other", map[string]any{"sub": "ext-2", "email": "bob@example.com", "email_verified": true})

	var annID, annToken, bobID, bobToken string
	grab := func(id, token *string) func(t *testing.T, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			var body struct {
				Token  string         `json:"token"`
				Record map[string]any `json:"record"`
			}
			json.Unmarshal(rec.Body.Bytes(), &body)
			*id, _ = body.Record["id"].(string)
			*token = body.Token
		}
	}
	e.run(t, []scenario{
		{name: "auth methods list the provider", path: "/api/collections/users/auth-methods", wantStatus: 200,
			wantContent: []string{`"oauth2":{"enabled":true,"providers":[{"name":"oidc","displayName":"Test IdP"`,
				`"codeChallengeMethod":"S256"`, `redirect_uri="`}},
		{name: "disabled collection lists none", path: "/api/collections/closed/auth-methods", wantStatus: 200,
			wantContent: []string{`"oauth2":{"enabled":false,"providers":[]}`}},
		{name: "collection JSON hides the secret", path: "/api/collections/users", token: "superuser", wantStatus: 200,
			wantContent: []string{`"clientId":"cid"`}, notContent: []string{"top-secret-value", "clientSecret"}},
		{name: "disabled", method: "POST", path: "/api/collections/closed/auth-with-oauth2", body: oauth2Body("first"),
			wantStatus: 403},
		{name: "missing provider", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: `{"code":"x"}`,
			wantStatus: 400, wantContent: []string{`"provider":{"code":"validation_required"`}},
		{name: "wrong code", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: oauth2Body("bad"),
			wantStatus: 400, wantContent: []string{`"message":"Failed to authenticate."`}},
		{name: "sign up", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: oauth2Body("first"),
			wantStatus: 200, wantContent: []string{`"isNew":true`, `"email":"ann@example.com"`, `"verified":true`,
				`"name":"From createData"`, `"accessToken":"at-first"`, `"rawUser":{`, `"id":"ext-1"`},
			notContent: []string{`"password"`, `"tokenKey"`}, check: grab(&annID, &annToken)},
		{name: "sign in again", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: oauth2Body("again"),
			wantStatus: 200, wantContent: []string{`"isNew":false`, `"email":"ann@example.com"`}},
		{name: "second user", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: oauth2Body("other"),
			wantStatus: 200, wantContent: []string{`"isNew":true`}, check: grab(&bobID, &bobToken)},
	})
	if annID == "" || bobID == "" {
		t.Fatal("sign-ups returned no records")
	}
	links := "/api/collections/users/records/" + annID + "/external-auths"
	e.run(t, []scenario{
		{name: "token works", method: "POST", path: "/api/collections/users/auth-refresh", token: annToken, wantStatus: 200},
		{name: "owner lists links", path: links, token: annToken, wantStatus: 200,
			wantContent: []string{`"provider":"oidc"`, `"providerId":"ext-1"`, `"recordRef":"` + annID + `"`, `"collectionName":"_externalAuths"`}},
		{name: "superuser lists links", path: links, token: "superuser", wantStatus: 200, wantContent: []string{`"providerId":"ext-1"`}},
		{name: "guest cannot list", path: links, wantStatus: 401},
		{name: "another user cannot list", path: links, token: bobToken, wantStatus: 403},
		{name: "records API shows own links only", path: "/api/collections/_externalAuths/records", token: bobToken, wantStatus: 200,
			wantContent: []string{`"totalItems":1`, `"providerId":"ext-2"`}},
		{name: "records API refuses creating links", method: "POST", path: "/api/collections/_externalAuths/records", token: bobToken,
			body: `{"collectionRef":"x","recordRef":"` + bobID + `","provider":"oidc","providerId":"ext-1"}`, wantStatus: 403},
		{name: "another user cannot unlink", method: "DELETE", path: links + "/oidc", token: bobToken, wantStatus: 403},
		{name: "owner unlinks", method: "DELETE", path: links + "/oidc", token: annToken, wantStatus: 204},
		{name: "unlinked twice", method: "DELETE", path: links + "/oidc", token: annToken, wantStatus: 404},
		{name: "no links left", path: links, token: annToken, wantStatus: 200, wantContent: []string{`[]`}},
	})
	// With the link gone, Ann's verified email links her account again.
	f.grant("relink", map[string]any{"sub": "ext-1", "email": "ann@example.com", "email_verified": true})
	e.run(t, []scenario{
		{name: "relinked by email", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: oauth2Body("relink"),
			wantStatus: 200, wantContent: []string{`"isNew":false`, `"id":"` + annID + `"`}},
	})
}
