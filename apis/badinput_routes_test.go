package apis_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestBadInputAcrossRouteGroups extends TestBadInputNever5xx beyond
// collections and records: auth flows, files, batch, realtime, settings,
// logs, roles and policies, jobs, install, hostile headers and unicode.
// Every request gets a 4xx in PocketBase's error shape and changes nothing.
func TestBadInputAcrossRouteGroups(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","fields":[{"name":"name","type":"text"}],"listRule":"","viewRule":"","createRule":"","updateRule":"id = @request.auth.id"}`)
	mustCollection(t, app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","fields":[{"name":"title","type":"text"},{"name":"doc","type":"file","maxSelect":1}]}`)
	user := account(t, app, "users", "u@example.com")
	userToken := tokenOf(t, app, user)
	if res := e.do(scenario{method: "PATCH", path: "/api/settings", body: `{"batch":{"enabled":true,"maxRequests":5}}`, token: "superuser"}); res.Code != 200 {
		t.Fatal(res.Body.String())
	}

	type req struct {
		method, path, body, token string
		headers                   map[string]string
	}
	var reqs []req
	add := func(method, path, body, token string) {
		reqs = append(reqs, req{method: method, path: path, body: body, token: token})
	}
	bodies := []string{`{`, `[]`, `"x"`, `null`, `{"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, "\xff\xfe", `{"a":"\ud800"}`}

	auth := "/api/collections/users/"
	for _, b := range append(bodies, `{"identity":"u@example.com","password":123}`, `{"identity":["x"],"password":"x"}`,
		`{"identity":"u@example.com","password":"wrong"}`, `{"identity":"`+strings.Repeat("a", 5000)+`","password":"x"}`,
		`{"identity":"' OR 1=1 --","password":"x"}`, `{"identity":"u@example.com\u0000","password":"x"}`) {
		add("POST", auth+"auth-with-password", b, "")
	}
	for _, p := range []string{"request-otp", "auth-with-otp", "auth-with-oauth2", "request-verification", "confirm-verification",
		"request-password-reset", "confirm-password-reset", "confirm-email-change"} {
		for _, b := range []string{`{`, `[]`, `{"token":"x.y.z","otpId":1,"password":"x","email":["a"]}`, `{"provider":"../../etc","code":"x"}`} {
			add("POST", auth+p, b, "")
		}
	}
	add("POST", auth+"auth-refresh", "", "")
	add("POST", auth+"auth-refresh", "", "Bearer nope")
	add("POST", auth+"auth-refresh", "", "eyJhbGciOiJub25lIn0.eyJpZCI6IngifQ.")
	add("POST", auth+"request-email-change", `{"newEmail":"not an email"}`, userToken)
	add("POST", auth+"request-email-change", `{"newEmail":"u@example.com"}`, userToken)
	add("POST", auth+"impersonate/"+user.ID(), `{"duration":-5}`, userToken)
	add("POST", auth+"impersonate/nope", `{}`, "superuser")
	add("PATCH", auth+"records/"+user.ID(), `{"password":"new-password-1","passwordConfirm":"new-password-1"}`, userToken)
	add("PATCH", auth+"records/"+user.ID(), `{"email":"other@example.com"}`, userToken)
	add("PATCH", auth+"records/"+user.ID(), `{"verified":true}`, userToken)
	add("GET", auth+"records/"+user.ID()+"/external-auths", "", "")
	add("GET", "/api/collections/nope/auth-methods", "", "")
	add("POST", "/api/collections/posts/auth-with-password", `{"identity":"a","password":"b"}`, "")

	for _, p := range []string{"posts/x/../../../etc/passwd", "posts/%2e%2e/%2e%2e/data.db", "nope/x/y.txt", "posts/nope/y.txt",
		"posts/x/" + strings.Repeat("a", 3000), "posts/x/y.txt?thumb=99999x99999", "posts/x/y.txt?thumb=abc", "posts/x/y.txt?token=nope"} {
		add("GET", "/api/files/"+p, "", "")
	}
	add("POST", "/api/files/token", "", "")

	for _, b := range append(bodies, `{"requests":"x"}`, `{"requests":[{"method":"GET","url":"/api/health"}]}`,
		`{"requests":[{"method":"POST","url":"http://evil/api/collections/posts/records","body":{}}]}`,
		`{"requests":[{"method":"POST","url":"/api/batch","body":{}}]}`,
		`{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"doc":"../../etc/passwd"}}]}`,
		`{"requests":[`+strings.Repeat(`{"method":"POST","url":"/api/collections/posts/records","body":{"title":"x"}},`, 5)+`{"method":"POST","url":"/api/collections/posts/records","body":{"title":"x"}}]}`) {
		add("POST", "/api/batch", b, "")
	}

	for _, b := range append(bodies, `{"clientId":"nope","subscriptions":["posts/*"]}`, `{"clientId":"","subscriptions":"x"}`,
		`{"clientId":"`+strings.Repeat("c", 5000)+`"}`) {
		add("POST", "/api/realtime", b, "")
	}

	for _, b := range append(bodies[:4], "\xff\xfe", `{"meta":{"appURL":"javascript:alert(1)"}}`, `{"meta":{"senderAddress":"nope"}}`,
		`{"smtp":{"enabled":true,"host":"","port":-1}}`, `{"rateLimits":{"rules":[{"label":"","maxRequests":-1,"duration":0}]}}`,
		`{"batch":{"maxRequests":-3}}`, `{"logs":{"maxDays":-1}}`, `{"trustedProxy":{"headers":"x"}}`, `{"s3":{"enabled":true}}`) {
		add("PATCH", "/api/settings", b, "superuser")
	}
	add("PATCH", "/api/settings", `{"meta":{"appName":"hacked"}}`, userToken)
	add("POST", "/api/settings/test/email", `{"email":"nope","template":"x"}`, "superuser")
	add("POST", "/api/settings/test/s3", `{"filesystem":"nope"}`, "superuser")

	for _, q := range []string{"?filter=" + url.QueryEscape("data.status >"), "?filter=" + url.QueryEscape("nope.x = 1"), "?sort=nope",
		"?perPage=-1&page=abc"} {
		add("GET", "/api/logs"+q, "", "superuser")
	}
	add("GET", "/api/logs/nope", "", "superuser")
	add("GET", "/api/logs/stats?filter="+url.QueryEscape("((("), "", "superuser")
	add("GET", "/api/logs", "", userToken)

	for _, b := range append(bodies, `{"subject":"","resource":"","action":""}`, `{"subject":"role:x","resource":"collection:posts","action":"list","effect":"perhaps"}`,
		`{"subject":"record:../x","resource":"admin:logs","action":"read"}`, `{"subject":"role:`+strings.Repeat("r", 300)+`","resource":"admin:logs","action":"read"}`) {
		add("POST", "/api/hg/policies", b, "superuser")
	}
	add("PATCH", "/api/hg/policies/1", `{"effect":"nope"}`, "superuser")
	add("DELETE", "/api/hg/policies/0x1", "", "superuser")
	for _, b := range []string{`{`, `{"inherits":["editor","editor2"],"members":[{"collectionName":"posts","recordId":"x"}]}`,
		`{"members":[{"subject":"record:nope/x"}]}`, `{"inherits":"x"}`} {
		add("PUT", "/api/hg/roles/editor", b, "superuser")
	}
	add("PUT", "/api/hg/roles/"+url.PathEscape("bad name"), `{}`, "superuser")
	add("POST", "/api/hg/roles/editor/members", `{"collectionName":"users","recordId":"nope"}`, "superuser")
	add("GET", "/api/hg/access/check?subject=role:x&resource=bad&action=read", "", "superuser")
	add("GET", "/api/hg/access", "", "")

	add("GET", "/api/hg/jobs/queues/nope/tasks?state=bogus", "", "superuser")
	add("POST", "/api/hg/jobs/queues/default/tasks/nope/run", "", "superuser")
	add("DELETE", "/api/hg/jobs/queues/default/tasks/nope", "", "superuser")
	add("POST", "/api/hg/jobs/queues/"+strings.Repeat("q", 300)+"/pause", "", "superuser")
	add("GET", "/api/hg/jobs/status", "", userToken)

	for _, b := range append(bodies, `{"token":"nope","email":"a@b.co","password":"Secret12345","passwordConfirm":"Secret12345"}`) {
		add("POST", "/api/hg/install", b, "")
	}

	// Hostile headers and unicode on an ordinary route.
	for _, h := range []map[string]string{
		{"Authorization": strings.Repeat("A", 20000)},
		{"Authorization": "Bearer \x00\x01"},
		{"Content-Type": "application/json; charset=utf-16"},
		{"Content-Type": "multipart/form-data"},
		{"Content-Type": "multipart/form-data; boundary=" + strings.Repeat("b", 100)},
		{"X-Forwarded-For": "' OR 1=1 --, 999.1.1.1"},
	} {
		reqs = append(reqs, req{method: "POST", path: "/api/collections/posts/records", body: `{"title":"x"`, headers: h})
	}
	for _, title := range []string{"\u202e\u0000x", "\xc0\xaf", "\xed\xa0\x80", strings.Repeat("🙂", 3000)} {
		quoted, _ := json.Marshal(title)
		add("POST", "/api/collections/posts/records", `{"title":`+string(quoted)+`,"doc":"../../etc/passwd"}`, "")
	}
	for _, m := range []string{"PROPFIND", "TRACE"} {
		add(m, "/api/collections/posts/records", "", "")
	}

	for _, r := range reqs {
		s := scenario{method: r.method, path: r.path, body: r.body, token: r.token, headers: map[string]string{"Content-Type": "application/json"}}
		for k, v := range r.headers {
			s.headers[k] = v
		}
		res := e.do(s)
		if res.Code >= 500 || res.Code < 400 {
			t.Errorf("%s %.80s body %.60q: status %d %.200s", r.method, r.path, r.body, res.Code, res.Body.String())
			continue
		}
		if r.method != http.MethodHead {
			apitest.AssertErrorShape(t, res)
		}
	}

	// Nothing changed: the user, the settings, the policies, no posts.
	if res := e.do(scenario{path: "/api/collections/posts/records"}); !strings.Contains(res.Body.String(), `"totalItems":0`) {
		t.Errorf("posts changed: %s", res.Body.String())
	}
	got, err := app.Records().Find(t.Context(), user.Collection(), user.ID())
	if err != nil || got.Get("verified") == true || got.GetString("email") != "u@example.com" || got.GetString("tokenKey") != user.GetString("tokenKey") {
		t.Errorf("the user changed: %v", err)
	}
	if res := e.do(scenario{path: "/api/settings", token: "superuser"}); strings.Contains(res.Body.String(), "hacked") {
		t.Errorf("settings changed: %s", res.Body.String())
	}
	if n, err := app.Policies().List(t.Context()); err != nil || len(n) != 1 {
		t.Errorf("policies changed: %d %v", len(n), err)
	}
	t.Logf("%d bad requests across the route groups, none answered 5xx", len(reqs))
}
