package apis_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestTrustedProxyHeaders(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	ip := func(headers map[string]string) string {
		rec := e.do(scenario{path: "/api/health", token: "superuser", headers: headers})
		var body struct {
			Data struct {
				RealIP string `json:"realIP"`
			} `json:"data"`
		}
		decode(t, rec, &body)
		return body.Data.RealIP
	}
	xff := map[string]string{"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}
	if got := ip(xff); got != "192.0.2.1" {
		t.Fatalf("untrusted header was used: %s", got)
	}
	s := app.Settings()
	s.TrustedProxy.Headers = []string{"X-Forwarded-For"}
	if err := app.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := ip(xff); got != "198.51.100.2" {
		t.Fatalf("rightmost IP = %s", got)
	}
	s.TrustedProxy.UseLeftmostIP = true
	app.SaveSettings(context.Background(), s)
	if got := ip(xff); got != "203.0.113.7" {
		t.Fatalf("leftmost IP = %s", got)
	}
	if got := ip(map[string]string{"X-Forwarded-For": "garbage"}); got != "192.0.2.1" {
		t.Fatalf("invalid header value should fall back to the connection: %s", got)
	}
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, dst any) {
	t.Helper()
	mustJSON(t, rec.Body.String(), dst)
}
