package apis_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
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
}

// env is a bootstrapped app with a superuser and its token.
type env struct {
	app    *core.App
	router http.Handler
	token  string
	su     *core.Record
}

func newEnv(t testing.TB, app *core.App) *env {
	t.Helper()
	ctx := context.Background()
	su, err := app.Superusers().Upsert(ctx, "admin@example.com", "Secret12345")
	if err != nil {
		t.Fatal(err)
	}
	token, err := app.Auth().NewAuthToken(su)
	if err != nil {
		t.Fatal(err)
	}
	return &env{app: app, router: apis.NewRouter(app), token: token, su: su}
}

func (e *env) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
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
				assertErrorShape(t, rec)
			}
			if s.check != nil {
				s.check(t, rec)
			}
		})
	}
}

func (e *env) do(s scenario) *httptest.ResponseRecorder {
	method := s.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	req := httptest.NewRequest(method, s.path, body)
	if s.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	switch s.token {
	case "":
	case "superuser":
		req.Header.Set("Authorization", e.token)
	default:
		req.Header.Set("Authorization", s.token)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	return rec
}

// assertErrorShape checks PocketBase's error body: exactly status, message
// and an object data.
func assertErrorShape(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %s", rec.Body.String())
	}
	if len(body) != 3 {
		t.Errorf("error body keys = %v, want data, message, status", keys(body))
	}
	var status int
	if err := json.Unmarshal(body["status"], &status); err != nil || status != rec.Code {
		t.Errorf("body status %s != %d", body["status"], rec.Code)
	}
	var msg string
	if err := json.Unmarshal(body["message"], &msg); err != nil || msg == "" {
		t.Errorf("body message %s", body["message"])
	}
	var data map[string]any
	if err := json.Unmarshal(body["data"], &data); err != nil || data == nil {
		t.Errorf("body data %s is not an object", body["data"])
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mustJSON(t testing.TB, js string, dst any) {
	t.Helper()
	if err := json.Unmarshal([]byte(js), dst); err != nil {
		t.Fatal(err)
	}
}
