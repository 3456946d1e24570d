package apis_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestSettingsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	saving := `"message":"An error occurred while saving the new settings."`
	e.run(t, []scenario{
		{name: "guest get", path: "/api/settings", wantStatus: 401},
		{name: "bad token get", path: "/api/settings", token: "nope", wantStatus: 401},
		{name: "guest patch", method: "PATCH", path: "/api/settings", body: `{"batch":{"enabled":true}}`, wantStatus: 401},
		{name: "guest test s3", method: "POST", path: "/api/settings/test/s3", body: `{}`, wantStatus: 401},
		{name: "get", path: "/api/settings", token: "superuser", wantStatus: 200,
			wantContent: []string{
				`"smtp":{"enabled":false,"port":587,"host":"smtp.example.com","username":"","authMethod":"","tls":false,"localName":""}`,
				`"backups":{"cron":"","cronMaxKeep":3,"s3":{"enabled":false,`,
				`"meta":{"appName":"Acme","appURL":"http://localhost:8090","senderName":"Support","senderAddress":"support@example.com","hideControls":false}`,
				`"rateLimits":{"rules":[{"label":"*:auth","audience":"","duration":3,"maxRequests":2}`,
				`"trustedProxy":{"headers":[],"useLeftmostIP":false}`,
				`"batch":{"enabled":false,"maxRequests":50,"timeout":3,"maxBodySize":0}`,
				`"logs":{"maxDays":5,"minLevel":0,"logIP":true,"logAuthId":false}`,
			},
			notContent: []string{`"password"`, `"secret"`}},
		{name: "patch merges sections", method: "PATCH", path: "/api/settings", token: "superuser",
			body:        `{"meta":{"appName":"Hatch"},"batch":{"enabled":true},"smtp":{"password":"hunter2"},"s3":{"secret":"s3cr3t"},"unknown":{"x":1}}`,
			wantStatus:  200,
			wantContent: []string{`"appName":"Hatch"`, `"appURL":"http://localhost:8090"`, `"batch":{"enabled":true,"maxRequests":50,"timeout":3`},
			notContent:  []string{`"password"`, `"secret"`, `"unknown"`}},
		{name: "get after patch", path: "/api/settings", token: "superuser", wantStatus: 200,
			wantContent: []string{`"appName":"Hatch"`, `"batch":{"enabled":true`}, notContent: []string{"hunter2", "s3cr3t"}},
		{name: "patch invalid", method: "PATCH", path: "/api/settings", token: "superuser",
			body:       `{"batch":{"maxRequests":-1},"logs":{"maxDays":-2},"meta":{"appName":""},"rateLimits":{"rules":[{"label":"/a","maxRequests":0,"duration":1}]}}`,
			wantStatus: 400,
			wantContent: []string{saving,
				`"batch":{"maxRequests":{"code":"validation_min_greater_equal_than_required","message":"Must be no less than 0."}}`,
				`"logs":{"maxDays":{"code":"validation_min_greater_equal_than_required"`,
				`"meta":{"appName":{"code":"validation_required","message":"Cannot be blank."}}`,
				`"rateLimits":{"rules":{"0":{"maxRequests":{"code":"validation_required"`,
			}},
		{name: "patch enabled batch without max", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"batch":{"maxRequests":0}}`, wantStatus: 400, wantContent: []string{`"batch":{"maxRequests":{"code":"validation_required"`}},
		{name: "patch wrong type", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"batch":{"maxRequests":"many"}}`, wantStatus: 400, wantContent: []string{`"message":"An error occurred while loading the submitted data."`}},
		{name: "patch malformed", method: "PATCH", path: "/api/settings", token: "superuser", body: `{"batch":`, wantStatus: 400},
		{name: "patch array", method: "PATCH", path: "/api/settings", token: "superuser", body: `[]`, wantStatus: 400},
		{name: "patch empty", method: "PATCH", path: "/api/settings", token: "superuser", wantStatus: 200, wantContent: []string{`"appName":"Hatch"`}},
		{name: "test s3 validation", method: "POST", path: "/api/settings/test/s3", token: "superuser", body: `{"filesystem":"nope"}`,
			wantStatus: 400, wantContent: []string{`"filesystem":{"code":"validation_in_invalid"`}},
		{name: "test s3 disabled", method: "POST", path: "/api/settings/test/s3", token: "superuser", body: `{"filesystem":"backups"}`,
			wantStatus: 400, wantContent: []string{`S3 storage filesystem is not enabled.`}},
		{name: "test email validation", method: "POST", path: "/api/settings/test/email", token: "superuser", body: `{"email":"x"}`,
			wantStatus: 400, wantContent: []string{`"email":{"code":"validation_is_email"`, `"template":{"code":"validation_required"`}},
		{name: "test email captured", method: "POST", path: "/api/settings/test/email", token: "superuser",
			body: `{"email":"a@example.com","template":"verification"}`, wantStatus: 204},
	})

	got := e.app.Settings()
	if got.SMTP.Password != "hunter2" || got.S3.Secret != "s3cr3t" {
		t.Errorf("secrets were not stored: %q %q", got.SMTP.Password, got.S3.Secret)
	}
	if got.Batch.MaxRequests != 50 || got.Logs.MaxDays != 5 {
		t.Errorf("a rejected patch changed the settings: %+v", got)
	}

	// A patch that leaves the secrets out keeps them.
	e.run(t, []scenario{{name: "patch smtp without password", method: "PATCH", path: "/api/settings", token: "superuser",
		body: `{"smtp":{"username":"mailer"}}`, wantStatus: 200,
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			var body map[string]map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["smtp"]["username"] != "mailer" {
				t.Errorf("smtp = %v", body["smtp"])
			}
		}}})
	if p := e.app.Settings().SMTP.Password; p != "hunter2" {
		t.Errorf("password after a patch without it = %q", p)
	}
}
