package apitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// Env is a bootstrapped App, its router and a superuser with a token. Its
// Hooks record every collection, record, request, settings and policy
// hook the App fires.
type Env struct {
	App            *core.App
	Router         http.Handler
	Superuser      *core.Record
	SuperuserToken string
	Hooks          *coretest.HookRecorder
}

// New returns an Env over a fresh coretest.NewApp(t, opts...).
func New(t testing.TB, opts ...coretest.Option) *Env {
	t.Helper()
	return FromApp(t, coretest.NewApp(t, opts...))
}

// FromApp returns an Env over app, for tests that build the App
// themselves: it makes the superuser (coretest.Superuser), the router and
// the hook recorder.
func FromApp(t testing.TB, app *core.App) *Env {
	t.Helper()
	e := WithoutSuperuser(app)
	e.Superuser, e.SuperuserToken = coretest.Superuser(t, app)
	return e
}

// WithoutSuperuser returns an Env over app with no superuser, for the
// install flow and for cluster members that share another Env's
// superuser (set Superuser and SuperuserToken).
func WithoutSuperuser(app *core.App) *Env {
	return &Env{App: app, Router: apis.NewRouter(app), Hooks: coretest.RecordHooks(app)}
}

// Request is one request to send. A body is sent as JSON unless Headers
// set another Content-Type; an empty Method is GET.
type Request struct {
	Method  string
	Path    string
	Body    string
	Token   string // the Authorization header; "" sends none (a guest)
	Headers map[string]string
}

// Do sends r through the router and returns the response.
func (e *Env) Do(r Request) *Response {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req := httptest.NewRequest(method, r.Path, body)
	if r.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", r.Token)
	}
	return e.Serve(req)
}

// Serve sends a request the test built itself (multipart, a remote
// address, ...) through the router.
func (e *Env) Serve(req *http.Request) *Response {
	rec := httptest.NewRecorder()
	e.Router.ServeHTTP(rec, req)
	return &Response{rec}
}

// Caller sends requests as one identity.
type Caller struct {
	env   *Env
	token string
}

// AsSuperuser returns a Caller with the Env's superuser token.
func (e *Env) AsSuperuser() Caller { return Caller{e, e.SuperuserToken} }

// AsGuest returns a Caller that sends no Authorization header.
func (e *Env) AsGuest() Caller { return Caller{env: e} }

// As returns a Caller that sends token as it is (an expired, forged or
// other collection's token).
func (e *Env) As(token string) Caller { return Caller{e, token} }

// AsUser returns a Caller signed in as rec, an auth record of any
// collection, with a fresh auth token.
func (e *Env) AsUser(t testing.TB, rec *core.Record) Caller {
	t.Helper()
	return Caller{e, coretest.AuthToken(t, e.App, rec)}
}

// Token is the Caller's Authorization header ("" for a guest).
func (c Caller) Token() string { return c.token }

// Do sends method path with body (JSON, or none when empty) as the Caller.
func (c Caller) Do(method, path, body string) *Response {
	return c.env.Do(Request{Method: method, Path: path, Body: body, Token: c.token})
}

// Must is Do that fails t unless the response has status want.
func (c Caller) Must(t testing.TB, method, path, body string, want int) *Response {
	t.Helper()
	res := c.Do(method, path, body)
	if res.Code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.Code, want, res.Body.String())
	}
	return res
}
