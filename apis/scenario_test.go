package apis_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// scenario is one request against a fresh router and what must come back.
type scenario struct {
	name    string
	method  string
	path    string
	body    string
	headers map[string]string
	// token picks the caller: "" guest, "superuser" a valid superuser token,
	// anything else is sent as-is.
	token string

	wantStatus  int
	wantContent []string // substrings of the body
	notContent  []string
	wantHeaders map[string]string
	check       func(t *testing.T, rec *httptest.ResponseRecorder)
	// notErrorShape skips the error-body check of a 4xx that is not an
	// error in PocketBase's shape (the MFA 401).
	notErrorShape bool
	// golden names testdata/<golden>.golden, which the body must match
	// once normalised (coretest.GoldenJSON).
	golden string
	// wantHooks, when set, are exactly the hooks the request fires, in
	// order (coretest.HookRecorder's names).
	wantHooks []string
}

// env is the kit's Env (apis/apitest) under the names these tests have
// always used.
type env struct {
	*apitest.Env
	app    *core.App
	router http.Handler
	token  string
	su     *core.Record
}

func newEnv(t testing.TB, app *core.App) *env {
	t.Helper()
	return wrapEnv(apitest.FromApp(t, app))
}

func wrapEnv(kit *apitest.Env) *env {
	return &env{Env: kit, app: kit.App, router: kit.Router, token: kit.SuperuserToken, su: kit.Superuser}
}

func (e *env) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			e.Hooks.Reset()
			rec := e.do(s)
			if rec.Code != s.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, s.wantStatus, rec.Body.String())
			}
			body := rec.Body.String()
			for _, want := range s.wantContent {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q: %s", want, body)
				}
			}
			for _, not := range s.notContent {
				if strings.Contains(body, not) {
					t.Errorf("body contains %q: %s", not, body)
				}
			}
			for k, v := range s.wantHeaders {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if rec.Code >= 400 && !s.notErrorShape && s.method != http.MethodHead && rec.Header().Get("Content-Type") == "application/json" {
				apitest.AssertErrorShape(t, rec)
			}
			if s.golden != "" {
				coretest.GoldenJSON(t, s.golden, rec.Body.Bytes())
			}
			if s.wantHooks != nil {
				e.Hooks.Assert(t, s.wantHooks...)
			}
			if s.check != nil {
				s.check(t, rec)
			}
		})
	}
}

func (e *env) do(s scenario) *httptest.ResponseRecorder {
	token := s.token
	if token == "superuser" {
		token = e.token
	}
	return e.Do(apitest.Request{Method: s.method, Path: s.path, Body: s.body, Headers: s.headers, Token: token}).ResponseRecorder
}

func mustJSON(t testing.TB, js string, dst any) {
	t.Helper()
	apitest.Decode(t, js, dst)
}
