package core_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

const (
	fakeClientID     = "hatchgrid-test-client"
	fakeClientSecret = "fake-client-secret-1234"
	testEncKey       = "0123456789abcdef0123456789abcdef"
)

// fakeOIDC is an OpenID Connect provider for tests: each code is issued
// for one user and one PKCE verifier; its tokens carry an id_token signed
// with key and published at /jwks.
type fakeOIDC struct {
	*httptest.Server
	key      *rsa.PrivateKey
	signWith *rsa.PrivateKey // normally key; another key forges tokens

	mu    sync.Mutex
	codes map[string]fakeGrant
}

type fakeGrant struct {
	verifier string
	user     map[string]any
}

func newFakeOIDC(t *testing.T) *fakeOIDC {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeOIDC{key: key, signWith: key, codes: map[string]fakeGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.userinfo)
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "test-key", Algorithm: "RS256", Use: "sig"},
		}})
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// grant issues code for user, to be redeemed with verifier.
func (f *fakeOIDC) grant(code, verifier string, user map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes[code] = fakeGrant{verifier: verifier, user: user}
}

func (f *fakeOIDC) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f.mu.Lock()
	g, found := f.codes[r.PostForm.Get("code")]
	f.mu.Unlock()
	if id != fakeClientID || secret != fakeClientSecret || r.PostForm.Get("grant_type") != "authorization_code" ||
		!found || g.verifier != r.PostForm.Get("code_verifier") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	claims := jwt.MapClaims{"iss": f.URL, "aud": fakeClientID, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range g.user {
		claims[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "test-key"
	idToken, err := tok.SignedString(f.signWith)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + r.PostForm.Get("code"), "token_type": "Bearer",
		"refresh_token": "rt-1", "expires_in": 3600, "id_token": idToken})
}

func (f *fakeOIDC) userinfo(w http.ResponseWriter, r *http.Request) {
	code, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer at-")
	f.mu.Lock()
	g, found := f.codes[code]
	f.mu.Unlock()
	if !ok || !found {
		http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(g.user)
}

// oauth2Options configures f as the generic "oidc" provider.
func (f *fakeOIDC) oauth2Options(enabled bool) string {
	opts := map[string]any{"enabled": enabled, "mappedFields": map[string]any{"name": "name"},
		"providers": []any{map[string]any{"name": "oidc", "clientId": fakeClientID, "clientSecret": fakeClientSecret,
			"authURL": f.URL + "/authorize", "tokenURL": f.URL + "/token", "userInfoURL": f.URL + "/userinfo",
			"extra": map[string]any{"jwksURL": f.URL + "/jwks", "issuers": []string{f.URL}}}}}
	b, _ := json.Marshal(opts)
	return string(b)
}

func oauth2App(t *testing.T, f *fakeOIDC, createRule string, opts ...coretest.Option) (*core.App, *core.Collection) {
	t.Helper()
	app := coretest.NewApp(t, opts...)
	c := expandCollection(t, app, `{"name":"users","type":"auth","createRule":`+createRule+`,
		"fields":[{"name":"name","type":"text"}],"oauth2":`+f.oauth2Options(true)+`}`)
	return app, c
}

func signInOIDC(app *core.App, c *core.Collection, code, verifier string) (*core.OAuth2Result, error) {
	return app.Auth().AuthWithOAuth2(core.WithRequest(context.Background(),

		&core.RequestInfo{}), c, core.OAuth2Request{
		Provider: "oidc", Code: code, CodeVerifier: verifier, RedirectURL: "https://app.example.com/cb",
	})

}

func TestOAuth2SignUpThenSignIn(t *testing.T) {
	t.Parallel()
	f := newFakeOIDC(t)
	app, c := oauth2App(t, f, `""`)
	user := map[string]any{"sub": "u-1", "name": "Ann", "email": "ann@example.com", "email_verified": true}
	f.grant("c1", "v1", user)
	f.grant("c2", "v2", user)

	first, err := signInOIDC(app, c, "c1", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if !first.IsNew || first.Record.GetString("email") != "ann@example.com" || first.Record.Get("verified") != true ||
		first.Record.GetString("name") != "Ann" || first.User.ID != "u-1" || first.Token.AccessToken != "at-c1" {
		t.Fatalf("first sign-in: new=%v record=%v user=%+v", first.IsNew, first.Record.PublicExport(core.ExportOptions{ShowEmail: true}), first.User)
	}
	second, err := signInOIDC(app, c, "c2", "v2")
	if err != nil {
		t.Fatal(err)
	}
	if second.IsNew || second.Record.ID() != first.Record.ID() {
		t.Fatalf("second sign-in: new=%v id=%s, want the record %s", second.IsNew, second.Record.ID(), first.Record.ID())
	}
	links, err := app.Auth().ExternalAuths(context.Background(), second.Record)
	if err != nil || len(links) != 1 || links[0].GetString("provider") != "oidc" || links[0].GetString("providerId") != "u-1" {
		t.Fatalf("links = %v, %v", links, err)
	}
	if err := app.Auth().UnlinkExternalAuth(context.Background(), second.Record, "oidc"); err != nil {
		t.Fatal(err)
	}
	if err := app.Auth().UnlinkExternalAuth(context.Background(), second.Record, "oidc"); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("second unlink: %v, want not found", err)
	}
}

func TestOAuth2LinksByEmail(t *testing.T) {
	t.Parallel()
	f := newFakeOIDC(t)
	app, c := oauth2App(t, f, `""`)
	ctx := context.Background()
	existing, err := app.Records().Create(core.WithRequest(ctx,
		&core.RequestInfo{}), c, map[string]any{"email": "bob@example.com",
		"password": "Secret12345", "passwordConfirm": "Secret12345"})

	if err != nil {
		t.Fatal(err)
	}

	// An address the provider does not vouch for links nothing.
	f.grant("unverified", "v", map[string]any{"sub": "u-2", "email": "BOB@example.com", "email_verified": false})
	if _, err := signInOIDC(app, c, "unverified", "v"); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("unverified email: %v, want 400", err)
	}

	f.grant("verified", "v", map[string]any{"sub": "u-2", "email": "BOB@example.com", "email_verified": true})
	res, err := signInOIDC(app, c, "verified", "v")
	if err != nil {
		t.Fatal(err)
	}
	if res.IsNew || res.Record.ID() != existing.ID() || res.Record.Get("verified") != true {
		t.Fatalf("linked %s (new %v, verified %v), want %s", res.Record.ID(), res.IsNew, res.Record.Get("verified"), existing.ID())
	}
}

func TestOAuth2Rejects(t *testing.T) {
	t.Parallel()
	f := newFakeOIDC(t)
	app, c := oauth2App(t, f, "null")
	f.grant("good", "v", map[string]any{"sub": "u-3", "email": "cy@example.com", "email_verified": true})

	for name, tc := range map[string]struct {
		provider, code, verifier string
		want                     core.ErrorCode
	}{
		"wrong code":          {"oidc", "nope", "v", core.CodeInvalid},
		"wrong verifier":      {"oidc", "good", "other", core.CodeInvalid},
		"unknown provider":    {"github", "good", "v", core.CodeInvalid},
		"missing code":        {"oidc", "", "v", core.CodeInvalid},
		"create rule is null": {"oidc", "good", "v", core.CodeForbidden},
	} {
		_, err := app.Auth().AuthWithOAuth2(core.WithRequest(context.Background(),
			&core.RequestInfo{}), c, core.OAuth2Request{
			Provider: tc.provider, Code: tc.code, CodeVerifier: tc.verifier})

		if got := core.ErrorCodeOf(err); got != tc.want {
			t.Errorf("%s: %v (%s), want %s", name, err, got, tc.want)
		}
	}

	// An id_token signed with a key the JWKS does not hold is refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	f.signWith = other
	f.grant("forged", "v", map[string]any{"sub": "u-4"})
	if _, err := signInOIDC(app, c, "forged", "v"); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("forged id_token: %v, want 400", err)
	}

	off := false
	if _, err := app.Collections().Update(context.Background(), c.ID, &core.CollectionInput{OAuth2: &core.OAuth2Input{Enabled: &off}}); err != nil {
		t.Fatal(err)
	}
	c, _ = app.Collections().Find("users")
	if _, err := signInOIDC(app, c, "good", "v"); core.ErrorCodeOf(err) != core.CodeForbidden {
		t.Fatalf("disabled: %v, want 403", err)
	}
	if m := app.Auth().OAuth2Methods(c); len(m) != 0 {
		t.Fatalf("disabled OAuth2 lists %v", m)
	}
}

func TestOAuth2Methods(t *testing.T) {
	t.Parallel()
	f := newFakeOIDC(t)
	app, c := oauth2App(t, f, `""`)
	m := app.Auth().OAuth2Methods(c)
	if len(m) != 1 || m[0].Name != "oidc" || m[0].CodeChallengeMethod != "S256" || len(m[0].CodeVerifier) < 43 || m[0].State == "" {
		t.Fatalf("methods = %+v", m)
	}
	for _, want := range []string{f.URL + "/authorize?", "client_id=" + fakeClientID, "code_challenge=" + m[0].CodeChallenge, "state=" + m[0].State} {
		if !strings.Contains(m[0].AuthURL, want) {
			t.Errorf("authURL %s lacks %s", m[0].AuthURL, want)
		}
	}
	if !strings.HasSuffix(m[0].AuthURL, "&redirect_uri=") {
		t.Errorf("authURL %s does not end with redirect_uri=", m[0].AuthURL)
	}
}

// storedOptions reads a collection's options as stored.
func storedOptions(t *testing.T, app *core.App, id string) string {
	t.Helper()
	var opts string
	if err := app.DB(context.Background()).Raw(`SELECT CAST("options" AS TEXT) FROM "_collections" WHERE "id" = ?`, id).Scan(&opts).Error; err != nil {
		t.Fatal(err)
	}
	return opts
}

func TestOAuth2SecretsAtRest(t *testing.T) {
	t.Parallel()
	f := newFakeOIDC(t)
	for _, key := range []string{"", testEncKey} {
		app, c := oauth2App(t, f, `""`, coretest.WithConfig(func(cfg *core.Config) { cfg.EncryptionKey = key }))
		out, _ := json.Marshal(c)
		if strings.Contains(string(out), fakeClientSecret) || strings.Contains(string(out), "clientSecret") {
			t.Fatalf("collection JSON shows the client secret: %s", out)
		}
		if !strings.Contains(string(out), `"clientId":"`+fakeClientID+`"`) {
			t.Fatalf("collection JSON lacks the provider: %s", out)
		}
		stored := storedOptions(t, app, c.ID)
		if plain := strings.Contains(stored, fakeClientSecret); plain != (key == "") {
			t.Fatalf("key %q: stored options %s", key, stored)
		}
		// An update that does not send the secret keeps it.
		name := "Test IdP"
		providers := []core.OAuth2ProviderConfig{c.Auth.OAuth2.Providers[0]}
		providers[0].ClientSecret, providers[0].DisplayName = "", name
		if _, err := app.Collections().Update(context.Background(), c.ID, &core.CollectionInput{OAuth2: &core.OAuth2Input{Providers: &providers}}); err != nil {
			t.Fatal(err)
		}
		c, _ = app.Collections().Find(c.ID)
		f.grant("rest-"+key, "v", map[string]any{"sub": "rest-" + key, "email": "rest@example.com"})
		if _, err := signInOIDC(app, c, "rest-"+key, "v"); err != nil {
			t.Fatalf("key %q: sign-in after the update: %v", key, err)
		}
		if m := app.Auth().OAuth2Methods(c); m[0].DisplayName != name {
			t.Fatalf("display name %q, want %q", m[0].DisplayName, name)
		}
	}
}

func TestOAuth2OptionsValidated(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	var in core.CollectionInput
	json.Unmarshal([]byte(`{"name":"users","type":"auth","oauth2":{"enabled":true,"mappedFields":{"name":"missing"},
		"providers":[{"name":"nope","clientId":"x","clientSecret":"y"},{"name":"oidc"}]}}`), &in)
	_, err := app.Collections().Create(context.Background(), &in)
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a validation error", err)
	}
	for _, key := range []string{"oauth2.providers.0.name", "oauth2.providers.1.clientId", "oauth2.providers.1.clientSecret",
		"oauth2.providers.1.authURL", "oauth2.mappedFields.name"} {
		if _, ok := ce.Fields[key]; !ok {
			t.Errorf("no error for %s: %v", key, ce.Fields)
		}
	}
}
