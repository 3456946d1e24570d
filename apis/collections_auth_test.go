package apis_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// authCollectionJSON is the part of an auth collection's JSON these tests
// read back.
type authCollectionJSON struct {
	AuthToken                  tokenJSON          `json:"authToken"`
	PasswordResetToken         tokenJSON          `json:"passwordResetToken"`
	EmailChangeToken           tokenJSON          `json:"emailChangeToken"`
	VerificationToken          tokenJSON          `json:"verificationToken"`
	FileToken                  tokenJSON          `json:"fileToken"`
	VerificationTemplate       core.EmailTemplate `json:"verificationTemplate"`
	ResetPasswordTemplate      core.EmailTemplate `json:"resetPasswordTemplate"`
	ConfirmEmailChangeTemplate core.EmailTemplate `json:"confirmEmailChangeTemplate"`
	OTP                        struct {
		Enabled       bool               `json:"enabled"`
		Duration      int64              `json:"duration"`
		EmailTemplate core.EmailTemplate `json:"emailTemplate"`
	} `json:"otp"`
}

type tokenJSON struct {
	Duration int64   `json:"duration"`
	Secret   *string `json:"secret"`
}

// readAuthCollection decodes the collection of an answer into dst and
// checks that no secret is in it.
func readAuthCollection(dst *authCollectionJSON) func(t *testing.T, rec *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		*dst = authCollectionJSON{}
		if err := json.Unmarshal(rec.Body.Bytes(), dst); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(rec.Body.String(), `"secret"`) {
			t.Errorf("the answer shows a token secret: %s", rec.Body.String())
		}
	}
}

func TestAuthCollectionOptionsPersist(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	secret := strings.Repeat("a", 40)
	create := `{"name":"members","type":"auth",
		"verificationTemplate":{"subject":"Verify {APP_NAME}","body":"<p>v {TOKEN}</p>"},
		"resetPasswordTemplate":{"subject":"Reset","body":"<p>r {TOKEN}</p>"},
		"confirmEmailChangeTemplate":{"subject":"Change","body":"<p>c {TOKEN}</p>"},
		"authToken":{"duration":1000,"secret":"` + secret + `"},"verificationToken":{"duration":2000},
		"passwordResetToken":{"duration":3000},"emailChangeToken":{"duration":4000},"fileToken":{"duration":50}}`
	var got authCollectionJSON
	e.run(t, []scenario{
		{name: "create", method: "POST", path: "/api/collections", token: "superuser", body: create, wantStatus: 200, check: readAuthCollection(&got)},
		{name: "view", path: "/api/collections/members", token: "superuser", wantStatus: 200, check: readAuthCollection(&got)},
	})
	want := authCollectionJSON{
		AuthToken: tokenJSON{Duration: 1000}, VerificationToken: tokenJSON{Duration: 2000}, PasswordResetToken: tokenJSON{Duration: 3000},
		EmailChangeToken: tokenJSON{Duration: 4000}, FileToken: tokenJSON{Duration: 50},
		VerificationTemplate:       core.EmailTemplate{Subject: "Verify {APP_NAME}", Body: "<p>v {TOKEN}</p>"},
		ResetPasswordTemplate:      core.EmailTemplate{Subject: "Reset", Body: "<p>r {TOKEN}</p>"},
		ConfirmEmailChangeTemplate: core.EmailTemplate{Subject: "Change", Body: "<p>c {TOKEN}</p>"},
	}
	if got != want {
		t.Fatalf("created collection = %+v\nwant %+v", got, want)
	}
	c := coretest.FindCollection(t, e.app, "members")
	if c.Auth.AuthToken.Secret != secret {
		t.Errorf("authToken secret = %q, want the one sent", c.Auth.AuthToken.Secret)
	}
	if s := c.Auth.FileToken.Secret; len(s) < 30 || s == secret {
		t.Errorf("fileToken secret = %q, want a fresh one of its own", s)
	}

	// Partial objects change only what they name.
	e.run(t, []scenario{{name: "update parts", method: "PATCH", path: "/api/collections/members", token: "superuser",
		body: `{"verificationTemplate":{"subject":"New subject"},"fileToken":{"duration":60},"authToken":{"secret":""},
			"otp":{"enabled":true,"emailTemplate":{"subject":"Code {OTP}"}}}`,
		wantStatus: 200, check: readAuthCollection(&got)}})
	want.VerificationTemplate.Subject = "New subject"
	want.FileToken.Duration = 60
	otpBody := defaultTemplate(t, core.AuthEmailOTP).Body
	if got.VerificationTemplate != want.VerificationTemplate || got.FileToken != want.FileToken || got.AuthToken != want.AuthToken {
		t.Errorf("after a partial update = %+v", got)
	}
	if !got.OTP.Enabled || got.OTP.EmailTemplate != (core.EmailTemplate{Subject: "Code {OTP}", Body: otpBody}) {
		t.Errorf("otp after a partial update = %+v", got.OTP)
	}
	if s := coretest.FindCollection(t, e.app, "members").Auth.AuthToken.Secret; s != secret {
		t.Errorf("an empty secret replaced the stored one: %q", s)
	}
	e.run(t, []scenario{{name: "otp duration alone", method: "PATCH", path: "/api/collections/members", token: "superuser",
		body: `{"otp":{"duration":300}}`, wantStatus: 200, check: readAuthCollection(&got)}})
	if !got.OTP.Enabled || got.OTP.Duration != 300 || got.OTP.EmailTemplate.Subject != "Code {OTP}" {
		t.Errorf("otp after changing its duration = %+v", got.OTP)
	}

	// Import updates the existing collection and creates a new one.
	e.run(t, []scenario{{name: "import", method: "PUT", path: "/api/collections/import", token: "superuser",
		body: `{"collections":[
			{"name":"members","type":"auth","verificationToken":{"duration":7000},"resetPasswordTemplate":{"subject":"Imported","body":"<p>i</p>"}},
			{"name":"fresh","type":"auth","authToken":{"duration":99},"confirmEmailChangeTemplate":{"subject":"x","body":"y"}}]}`,
		wantStatus: 204}})
	members, fresh := coretest.FindCollection(t, e.app, "members").Auth, coretest.FindCollection(t, e.app, "fresh").Auth
	if members.VerificationToken.Duration != 7000 || members.FileToken.Duration != 60 {
		t.Errorf("imported token durations = %+v %+v", members.VerificationToken, members.FileToken)
	}
	if tpl, _ := members.EmailTemplate(core.AuthEmailPasswordReset); tpl != (core.EmailTemplate{Subject: "Imported", Body: "<p>i</p>"}) {
		t.Errorf("imported reset template = %+v", tpl)
	}
	if tpl, _ := fresh.EmailTemplate(core.AuthEmailEmailChange); fresh.AuthToken.Duration != 99 || tpl != (core.EmailTemplate{Subject: "x", Body: "y"}) {
		t.Errorf("imported new collection = %+v, %+v", fresh.AuthToken, tpl)
	}
}

func TestAuthCollectionOptionsValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"members","type":"auth","fields":[{"name":"username","type":"text"},{"name":"nick","type":"text"}],
		"indexes":["CREATE UNIQUE INDEX idx_nick ON members (nick)"]}`)
	stored := func() string {
		t.Helper()
		if err := e.app.Collections().Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		c := coretest.FindCollection(t, e.app, "members")
		public, _ := json.Marshal(c)
		options, _ := json.Marshal(c.Auth) // secrets included
		return string(public) + string(options)
	}
	before := stored()

	patch := func(name, body string, want ...string) scenario {
		return scenario{name: name, method: "PATCH", path: "/api/collections/members", token: "superuser", body: body,
			wantStatus: 400, wantContent: want}
	}
	long := strings.Repeat("x", 256)
	e.run(t, []scenario{
		patch("auth token too short", `{"authToken":{"duration":5}}`,
			`"data":{"authToken":{"duration":{"code":"validation_min_greater_equal_than_required","message":"Must be no less than 10."}}}`),
		patch("verification token without duration", `{"verificationToken":{"duration":0}}`,
			`"verificationToken":{"duration":{"code":"validation_required","message":"Cannot be blank."}}`),
		patch("file token too long", `{"fileToken":{"duration":94670857}}`,
			`"fileToken":{"duration":{"code":"validation_max_less_equal_than_required","message":"Must be no greater than 94670856."}}`),
		patch("short secret", `{"passwordResetToken":{"secret":"tooshort"}}`,
			`"passwordResetToken":{"secret":{"code":"validation_length_out_of_range","message":"The length must be between 30 and 255."}}`),
		patch("long secret", `{"emailChangeToken":{"secret":"`+long+`"}}`, `"emailChangeToken":{"secret":{"code":"validation_length_out_of_range"`),
		patch("template without subject", `{"verificationTemplate":{"subject":"","body":"b"}}`,
			`"verificationTemplate":{"subject":{"code":"validation_required","message":"Cannot be blank."}}`),
		patch("template with a blank body", `{"confirmEmailChangeTemplate":{"body":"  "}}`,
			`"confirmEmailChangeTemplate":{"body":{"code":"validation_required"`),
		patch("reset template emptied", `{"resetPasswordTemplate":{"subject":"","body":""}}`,
			`"resetPasswordTemplate":{"body":{"code":"validation_required"`, `"subject":{"code":"validation_required"`),
		patch("otp too short", `{"otp":{"enabled":true,"duration":5}}`,
			`"data":{"otp":{"duration":{"code":"validation_min_greater_equal_than_required","message":"Must be no less than 10."}}}`),
		patch("otp too long", `{"otp":{"enabled":true,"duration":86401}}`,
			`"otp":{"duration":{"code":"validation_max_less_equal_than_required","message":"Must be no greater than 86400."}}`),
		patch("otp without duration", `{"otp":{"enabled":true,"duration":0}}`, `"otp":{"duration":{"code":"validation_required"`),
		patch("otp of 3 digits", `{"otp":{"enabled":true,"length":3}}`,
			`"otp":{"length":{"code":"validation_min_greater_equal_than_required","message":"Must be no less than 4."}}`),
		patch("otp template without subject", `{"otp":{"emailTemplate":{"subject":" "}}}`,
			`"otp":{"emailTemplate":{"subject":{"code":"validation_required"`),
		patch("mfa window too short", `{"mfa":{"enabled":true,"duration":5},"otp":{"enabled":true}}`,
			`"mfa":{"duration":{"code":"validation_min_greater_equal_than_required","message":"Must be no less than 10."}}`),
		patch("mfa window too long", `{"mfa":{"enabled":true,"duration":86401},"otp":{"enabled":true}}`,
			`"mfa":{"duration":{"code":"validation_max_less_equal_than_required"`),
		patch("mfa with one method", `{"mfa":{"enabled":true}}`,
			`"mfa":{"enabled":{"code":"validation_mfa_not_enough_auths","message":"MFA requires at least 2 auth methods to be enabled."}}`),
		patch("mfa rule not a filter", `{"mfa":{"enabled":true,"rule":"verified = "},"otp":{"enabled":true}}`,
			`"mfa":{"rule":{"code":"validation_invalid_rule"`),
		patch("identity without unique index", `{"passwordAuth":{"identityFields":["email","username"]}}`,
			`"passwordAuth":{"identityFields":{"code":"validation_missing_unique_constraint","message":"The field username doesn't have a UNIQUE constraint."}}`),
		patch("identity not a field", `{"passwordAuth":{"identityFields":["nope"]}}`,
			`"passwordAuth":{"identityFields":{"code":"validation_missing_field"`),
		patch("no identity", `{"passwordAuth":{"enabled":true,"identityFields":[]}}`,
			`"passwordAuth":{"identityFields":{"code":"validation_required"`),
		patch("auth alert without body", `{"authAlert":{"emailTemplate":{"body":""}}}`,
			`"authAlert":{"emailTemplate":{"body":{"code":"validation_required"`),
		patch("auth rule not a filter", `{"authRule":"verified ="}`, `"authRule":{"code":"validation_invalid_rule"`),
		patch("several at once", `{"otp":{"enabled":true,"duration":5},"authToken":{"duration":5},"listRule":"("}`,
			`"otp":{"duration":`, `"authToken":{"duration":`, `"listRule":{"code":"validation_invalid_rule"`),
		patch("duration of the wrong type", `{"authToken":{"duration":"long"}}`, `"message":"An error occurred while loading the submitted data."`),
		patch("template of the wrong type", `{"verificationTemplate":"hi"}`, `"message":"An error occurred while loading the submitted data."`),
		patch("otp of the wrong type", `{"otp":{"enabled":"yes"}}`, `"message":"An error occurred while loading the submitted data."`),
		{name: "import with a bad option", method: "PUT", path: "/api/collections/import", token: "superuser",
			body:       `{"collections":[{"name":"members","type":"auth","otp":{"enabled":true,"duration":1}}]}`,
			wantStatus: 400, wantContent: []string{`"collections":{"0":{"otp":{"duration":{"code":"validation_min_greater_equal_than_required"`}},
		{name: "create with a bad option", method: "POST", path: "/api/collections", token: "superuser",
			body:       `{"name":"other","type":"auth","fileToken":{"duration":1}}`,
			wantStatus: 400, wantContent: []string{`"fileToken":{"duration":{"code":"validation_min_greater_equal_than_required"`}},
		{name: "nothing was created", path: "/api/collections/other", token: "superuser", wantStatus: 404},
	})
	if after := stored(); after != before {
		t.Errorf("rejected changes were stored:\nbefore %s\nafter  %s", before, after)
	}

	e.run(t, []scenario{
		{name: "unique identity", method: "PATCH", path: "/api/collections/members", token: "superuser",
			body: `{"passwordAuth":{"identityFields":["email","nick"]}}`, wantStatus: 200},
		{name: "password auth off keeps the identities", method: "PATCH", path: "/api/collections/members", token: "superuser",
			body: `{"passwordAuth":{"enabled":false}}`, wantStatus: 200, wantContent: []string{`"passwordAuth":{"enabled":false,"identityFields":["email","nick"]}`}},
		{name: "and on again", method: "PATCH", path: "/api/collections/members", token: "superuser",
			body: `{"passwordAuth":{"enabled":true}}`, wantStatus: 200, wantContent: []string{`"passwordAuth":{"enabled":true,"identityFields":["email","nick"]}`}},
		{name: "bounds are allowed", method: "PATCH", path: "/api/collections/members", token: "superuser",
			body: `{"otp":{"enabled":true,"duration":10,"length":4},"mfa":{"enabled":true,"duration":86400,"rule":"verified = true"},
				"authToken":{"duration":10},"fileToken":{"duration":94670856},"verificationToken":{"secret":"` + strings.Repeat("v", 30) + `"}}`,
			wantStatus: 200, wantContent: []string{`"otp":{"duration":10,"enabled":true,"length":4}`, `"mfa":{"duration":86400,"enabled":true,"rule":"verified = true"}`}},
	})
}

// defaultTemplate returns the built-in template of kind.
func defaultTemplate(t *testing.T, kind core.AuthEmail) core.EmailTemplate {
	t.Helper()
	tpl, ok := core.DefaultEmailTemplate(kind)
	if !ok {
		t.Fatalf("no built-in %s template", kind)
	}
	return tpl
}
