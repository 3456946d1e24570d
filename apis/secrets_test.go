package apis_test

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestNoResponseLeaksSecrets walks the routes that return records,
// collections and settings, as a superuser and as an ordinary user, and
// checks that no body carries a password hash, a token key, a token or
// OAuth2 client secret.
func TestNoResponseLeaksSecrets(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	const clientSecret = "super-secret-client-value-123"
	users := mustCollection(t, app, `{"name":"users","type":"auth","createRule":"","listRule":"","viewRule":"","updateRule":"id = @request.auth.id",
		"fields":[{"name":"name","type":"text"}],
		"oauth2":{"enabled":true,"providers":[{"name":"github","clientId":"cid","clientSecret":"`+clientSecret+`"}]}}`)
	mustCollection(t, app, `{"name":"posts","listRule":"","viewRule":"","fields":[{"name":"author","type":"relation","collectionId":"users"}]}`)

	ctx := context.Background()
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	ann, err := app.Records().Create(core.WithRequest(ctx, sys), users, map[string]any{"email": "ann@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	if err != nil {
		t.Fatal(err)
	}
	posts, _ := app.Collections().Find("posts")
	post, err := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"author": ann.ID()})
	if err != nil {
		t.Fatal(err)
	}
	annToken, _ := app.Auth().NewAuthToken(ann)
	superuser, _ := app.Superusers().FindByEmail(ctx, "admin@example.com")

	secrets := []string{clientSecret, ann.GetString("tokenKey"), superuser.GetString("tokenKey")}
	for _, c := range app.Collections().All() {
		if c.Auth != nil {
			secrets = append(secrets, c.Auth.AuthToken.Secret, c.Auth.FileToken.Secret, c.Auth.VerificationToken.Secret,
				c.Auth.PasswordResetToken.Secret, c.Auth.EmailChangeToken.Secret)
		}
	}
	bcrypt := regexp.MustCompile(`\$2[aby]\$\d\d\$`)

	routes := []scenario{
		{path: "/api/collections"},
		{path: "/api/collections/users"},
		{path: "/api/collections/_superusers"},
		{path: "/api/collections/meta/scaffolds"},
		{path: "/api/settings"},
		{path: "/api/collections/users/records"},
		{path: "/api/collections/users/records/" + ann.ID()},
		{path: "/api/collections/_superusers/records"},
		{path: "/api/collections/posts/records?expand=author"},
		{path: "/api/collections/posts/records/" + post.ID() + "?expand=author"},
		{path: "/api/collections/users/auth-methods"},
		{method: "POST", path: "/api/collections/users/auth-with-password", body: `{"identity":"ann@example.com","password":"Secret12345"}`},
		{method: "POST", path: "/api/collections/_superusers/auth-with-password", body: `{"identity":"admin@example.com","password":"Secret12345"}`},
		{method: "POST", path: "/api/collections/users/impersonate/" + ann.ID()},
		{method: "PATCH", path: "/api/collections/users/records/" + ann.ID(), body: `{"name":"Ann"}`},
	}
	seen := 0
	for _, as := range []string{"superuser", annToken, ""} {
		for _, r := range routes {
			r.token = as
			if r.method == "" {
				r.method = "GET"
			}
			rec := e.do(r)
			seen++
			check(t, rec, r, secrets, bcrypt)
		}
	}
	if err := app.Logs().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	logs := e.do(scenario{path: "/api/logs?perPage=500", token: "superuser"})
	check(t, logs, scenario{path: "/api/logs"}, secrets, bcrypt)
	t.Logf("%d responses checked", seen+1)
}

func check(t *testing.T, rec *httptest.ResponseRecorder, r scenario, secrets []string, bcrypt *regexp.Regexp) {
	t.Helper()
	body := rec.Body.String()
	if bcrypt.MatchString(body) {
		t.Errorf("%s %s: a password hash in the response", r.method, r.path)
	}
	if strings.Contains(body, `"tokenKey":`) || strings.Contains(body, `"password":"`) {
		t.Errorf("%s %s: a tokenKey or password key in the response: %.300s", r.method, r.path, body)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(body, s) {
			t.Errorf("%s %s: a secret (%.6s...) in the response", r.method, r.path, s)
		}
	}
}
