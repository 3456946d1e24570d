package apis_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

const authRuleRefusal = `"message":"The request doesn't satisfy the collection requirements to authenticate."`

// grabAuth stores the token and record id of an auth response, or the id
// of a record response.
func grabAuth(id, token *string) func(t *testing.T, rec *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		var body struct {
			Token  string         `json:"token"`
			Record map[string]any `json:"record"`
			ID     string         `json:"id"`
			OTPID  string         `json:"otpId"`
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		if id != nil {
			switch {
			case body.Record != nil:
				*id, _ = body.Record["id"].(string)
			case body.OTPID != "":
				*id = body.OTPID
			default:
				*id = body.ID
			}
		}
		if token != nil {
			*token = body.Token
		}
	}
}

func signInBody(email, password string) string {
	return `{"identity":"` + email + `","password":"` + password + `"}`
}

func TestAuthRule(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","authRule":"verified = true","viewRule":"id = @request.auth.id",
		"otp":{"enabled":true,"duration":180,"length":8}}`)
	const (
		records  = "/api/collections/users/records"
		password = "/api/collections/users/auth-with-password"
		refresh  = "/api/collections/users/auth-refresh"
	)
	user := func(email string, verified bool) string {
		v := "false"
		if verified {
			v = "true"
		}
		return `{"email":"` + email + `","password":"Secret12345","passwordConfirm":"Secret12345","verified":` + v + `}`
	}
	var annID, bobID, carlID, bobToken string
	e.run(t, []scenario{
		{name: "unverified ann", method: "POST", path: records, token: "superuser", body: user("ann@example.com", false), wantStatus: 200, check: grabAuth(&annID, nil)},
		{name: "verified bob", method: "POST", path: records, token: "superuser", body: user("bob@example.com", true), wantStatus: 200, check: grabAuth(&bobID, nil)},
		{name: "unverified carl", method: "POST", path: records, token: "superuser", body: user("carl@example.com", false), wantStatus: 200, check: grabAuth(&carlID, nil)},
	})
	e.run(t, []scenario{
		{name: "unverified password sign-in refused", method: "POST", path: password, body: signInBody("ann@example.com", "Secret12345"),
			wantStatus: 403, wantContent: []string{`"status":403`, authRuleRefusal, `"data":{}`}, notContent: []string{`"token"`}},
		{name: "credentials are checked before the rule", method: "POST", path: password, body: signInBody("ann@example.com", "wrong"),
			wantStatus: 400, wantContent: []string{"Failed to authenticate."}},
		{name: "verified password sign-in", method: "POST", path: password, body: signInBody("bob@example.com", "Secret12345"),
			wantStatus: 200, wantContent: []string{`"token":"`, `"id":"` + bobID + `"`}, check: grabAuth(nil, &bobToken)},
		{name: "a superuser's request passes the rule", method: "POST", path: password, token: "superuser",
			body: signInBody("ann@example.com", "Secret12345"), wantStatus: 200, wantContent: []string{`"id":"` + annID + `"`}},
		{name: "impersonation is not subject to the rule", method: "POST", path: "/api/collections/users/impersonate/" + annID, token: "superuser",
			wantStatus: 200, wantContent: []string{`"id":"` + annID + `"`}},
	})
	e.run(t, []scenario{
		{name: "verified refresh", method: "POST", path: refresh, token: bobToken, wantStatus: 200},
		{name: "bob unverified by a superuser", method: "PATCH", path: records + "/" + bobID, token: "superuser", body: `{"verified":false}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		// The rule applies to every token issued, refreshes included, but
		// tokens issued before stay valid, as in PocketBase.
		{name: "refresh refused once the rule no longer matches", method: "POST", path: refresh, token: bobToken,
			wantStatus: 403, wantContent: []string{authRuleRefusal}},
		{name: "the issued token still authenticates", path: records + "/" + bobID, token: bobToken, wantStatus: 200},
	})

	// OTP: an OTP sent to the record's own email verifies it before the
	// rule is checked (PocketBase's order), so the rule lets it in.
	otp := func(email string) (id, code string) {
		t.Helper()
		m := coretest.AwaitMail(t, app, email, func() {
			e.run(t, []scenario{{name: "request otp for " + email, method: "POST", path: "/api/collections/users/request-otp",
				body: `{"email":"` + email + `"}`, wantStatus: 200, check: grabAuth(&id, nil)}})
		})
		return id, otpInMail.FindString(m.HTML)
	}
	otpBody := func(id, code string) string { return `{"otpId":"` + id + `","password":"` + code + `"}` }
	id, code := otp("ann@example.com")
	e.run(t, []scenario{{name: "otp sign-in verifies and passes", method: "POST", path: "/api/collections/users/auth-with-otp",
		body: otpBody(id, code), wantStatus: 200, wantContent: []string{`"id":"` + annID + `"`, `"verified":true`}}})

	// An OTP that went to an address the record no longer has does not
	// verify it, and the rule refuses the unverified record.
	id, code = otp("carl@example.com")
	e.run(t, []scenario{
		{name: "carl's email changed", method: "PATCH", path: records + "/" + carlID, token: "superuser", body: `{"email":"carl2@example.com"}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "unverified otp sign-in refused", method: "POST", path: "/api/collections/users/auth-with-otp",
			body: otpBody(id, code), wantStatus: 403, wantContent: []string{authRuleRefusal}},
		{name: "null rule", method: "PATCH", path: "/api/collections/users", token: "superuser", body: `{"authRule":null}`,
			wantStatus: 200, wantContent: []string{`"authRule":null`}},
	})

	// A null rule refuses every sign-in, verified or not.
	id, code = otp("ann@example.com")
	e.run(t, []scenario{
		{name: "null refuses a verified password sign-in", method: "POST", path: password, body: signInBody("ann@example.com", "Secret12345"),
			wantStatus: 403, wantContent: []string{authRuleRefusal}},
		{name: "null refuses an otp sign-in", method: "POST", path: "/api/collections/users/auth-with-otp",
			body: otpBody(id, code), wantStatus: 403, wantContent: []string{authRuleRefusal}},
		{name: "empty rule", method: "PATCH", path: "/api/collections/users", token: "superuser", body: `{"authRule":""}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "empty rule lets the unverified in", method: "POST", path: password, body: signInBody("carl2@example.com", "Secret12345"), wantStatus: 200},
	})
}

func TestAuthRuleBeforeMFA(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"users","type":"auth","authRule":"verified = true","mfa":{"enabled":true},"otp":{"enabled":true}}`)
	e.run(t, []scenario{{name: "unverified ann", method: "POST", path: "/api/collections/users/records", token: "superuser",
		body: `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`, wantStatus: 200}})
	e.run(t, []scenario{{name: "refused before a second factor is asked for", method: "POST", path: "/api/collections/users/auth-with-password",
		body: signInBody("ann@example.com", "Secret12345"), wantStatus: 403, wantContent: []string{authRuleRefusal}, notContent: []string{"mfaId"}}})
}

func TestManageRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	// Any signed-in user passes the update rule, so what tells the admin
	// from the others below is the manageRule alone.
	mustCollection(t, e.app, `{"name":"users","type":"auth","createRule":"","viewRule":"@request.auth.id != ''",
		"updateRule":"@request.auth.id != ''","manageRule":"@request.auth.role = \"admin\"",
		"fields":[{"name":"role","type":"text"}]}`)
	const records = "/api/collections/users/records"
	user := func(email, role string) string {
		return `{"email":"` + email + `","password":"Secret12345","passwordConfirm":"Secret12345","role":"` + role + `"}`
	}
	var adminID, annID, bobID, adminToken, annToken string
	e.run(t, []scenario{
		{name: "admin", method: "POST", path: records, token: "superuser", body: user("admin@example.com", "admin"), wantStatus: 200, check: grabAuth(&adminID, nil)},
		{name: "ann", method: "POST", path: records, token: "superuser", body: user("ann@example.com", ""), wantStatus: 200, check: grabAuth(&annID, nil)},
		{name: "bob", method: "POST", path: records, token: "superuser", body: user("bob@example.com", ""), wantStatus: 200, check: grabAuth(&bobID, nil)},
	})
	e.run(t, []scenario{
		{name: "admin signs in", method: "POST", path: "/api/collections/users/auth-with-password", body: signInBody("admin@example.com", "Secret12345"),
			wantStatus: 200, check: grabAuth(nil, &adminToken)},
		{name: "ann signs in", method: "POST", path: "/api/collections/users/auth-with-password", body: signInBody("ann@example.com", "Secret12345"),
			wantStatus: 200, check: grabAuth(nil, &annToken)},
	})
	e.run(t, []scenario{
		{name: "a normal user cannot set another's password without oldPassword", method: "PATCH", path: records + "/" + bobID, token: annToken,
			body: `{"password":"Changed12345","passwordConfirm":"Changed12345"}`, wantStatus: 400, wantContent: []string{`"oldPassword":{"code":"validation_invalid_old_password"`}},
		{name: "nor another's email", method: "PATCH", path: records + "/" + bobID, token: annToken, body: `{"email":"x@example.com"}`,
			wantStatus: 400, wantContent: []string{`"email":{"code":"validation_values_mismatch"`}},
		{name: "nor another's verified", method: "PATCH", path: records + "/" + bobID, token: annToken, body: `{"verified":true}`,
			wantStatus: 400, wantContent: []string{`"verified":{"code":"validation_values_mismatch"`}},
	})
	e.run(t, []scenario{
		{name: "admin changes ann's email, password and verified without oldPassword", method: "PATCH", path: records + "/" + annID, token: adminToken,
			body:       `{"email":"ann2@example.com","password":"Changed12345","passwordConfirm":"Changed12345","verified":true}`,
			wantStatus: 200, wantContent: []string{`"verified":true`}},
	})
	e.run(t, []scenario{
		{name: "ann's old token went with her password", method: "POST", path: "/api/collections/users/auth-refresh", token: annToken, wantStatus: 401},
		{name: "ann signs in with what the admin set", method: "POST", path: "/api/collections/users/auth-with-password",
			body: signInBody("ann2@example.com", "Changed12345"), wantStatus: 200, wantContent: []string{`"verified":true`}, check: grabAuth(nil, &annToken)},
		{name: "bob is unchanged", method: "POST", path: "/api/collections/users/auth-with-password", body: signInBody("bob@example.com", "Secret12345"),
			wantStatus: 200, wantContent: []string{`"verified":false`}},
	})
	e.run(t, []scenario{
		{name: "an admin manages their own record too", method: "PATCH", path: records + "/" + adminID, token: adminToken,
			body: `{"verified":true}`, wantStatus: 200, wantContent: []string{`"verified":true`}},
		{name: "an owner still needs oldPassword", method: "PATCH", path: records + "/" + annID, token: annToken,
			body: `{"password":"Again123456","passwordConfirm":"Again123456"}`, wantStatus: 400, wantContent: []string{`"oldPassword":{`}},
		{name: "an owner with oldPassword", method: "PATCH", path: records + "/" + annID, token: annToken,
			body: `{"oldPassword":"Changed12345","password":"Again123456","passwordConfirm":"Again123456"}`, wantStatus: 200},
	})
	e.run(t, []scenario{{name: "ann signs in again", method: "POST", path: "/api/collections/users/auth-with-password",
		body: signInBody("ann2@example.com", "Again123456"), wantStatus: 200, check: grabAuth(nil, &annToken)}})

	// Creating: a manager may create a verified record, others may not, and
	// the rule sees the new record unverified, so it cannot rest on it.
	e.run(t, []scenario{
		{name: "admin creates a verified user", method: "POST", path: records, token: adminToken, body: `{"email":"cid@example.com",
			"password":"Secret12345","passwordConfirm":"Secret12345","verified":true}`, wantStatus: 200, wantContent: []string{`"verified":true`}},
		{name: "a normal user cannot", method: "POST", path: records, token: annToken, body: `{"email":"dan@example.com",
			"password":"Secret12345","passwordConfirm":"Secret12345","verified":true}`, wantStatus: 400, wantContent: []string{`"verified":{`}},
		{name: "a rule on the new record's verified", method: "PATCH", path: "/api/collections/users", token: "superuser",
			body: `{"manageRule":"verified = true"}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "does not let a caller verify what it creates", method: "POST", path: records, token: annToken, body: `{"email":"dan@example.com",
			"password":"Secret12345","passwordConfirm":"Secret12345","verified":true}`, wantStatus: 400, wantContent: []string{`"verified":{`}},
		{name: "empty manage rule refused", method: "PATCH", path: "/api/collections/users", token: "superuser", body: `{"manageRule":""}`,
			wantStatus: 400, wantContent: []string{`"manageRule":{"code":"validation_nil_or_not_empty_required"`}},
		{name: "null manage rule", method: "PATCH", path: "/api/collections/users", token: "superuser", body: `{"manageRule":null}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "null leaves managing to superusers", method: "PATCH", path: records + "/" + bobID, token: adminToken, body: `{"verified":true}`,
			wantStatus: 400, wantContent: []string{`"verified":{`}},
		{name: "superusers still manage", method: "PATCH", path: records + "/" + bobID, token: "superuser", body: `{"verified":true,"email":"bob2@example.com"}`,
			wantStatus: 200, wantContent: []string{`"verified":true`, `"email":"bob2@example.com"`}},
	})
}

func TestAuthRuleOAuth2(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t)
	e := newEnv(t, coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.EncryptionKey = "0123456789abcdef0123456789abcdef" })))
	mustCollection(t, e.app, `{"name":"users","type":"auth","createRule":"","authRule":"name = 'ok'","fields":[{"name":"name","type":"text"}],"oauth2":`+f.options(true)+`}`)
	f.grant("first", map[string]any{"sub": "ext-1", "email": "ann@example.com", "email_verified": true})
	f.grant("again", map[string]any{"sub": "ext-1", "email": "ann@example.com", "email_verified": true})
	e.run(t, []scenario{
		// As in PocketBase, the sign-up happens before the rule is checked.
		{name: "oauth2 sign-up refused by the rule", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: oauth2Body("first"),
			wantStatus: 403, wantContent: []string{authRuleRefusal}, notContent: []string{`"token"`}},
		{name: "the record stays", path: "/api/collections/users/records?filter=email='ann@example.com'", token: "superuser",
			wantStatus: 200, wantContent: []string{`"totalItems":1`, `"name":"From createData"`}},
		{name: "rule loosened", method: "PATCH", path: "/api/collections/users", token: "superuser", body: `{"authRule":"name != ''"}`, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "oauth2 sign-in once the record matches", method: "POST", path: "/api/collections/users/auth-with-oauth2", body: oauth2Body("again"),
			wantStatus: 200, wantContent: []string{`"token":"`, `"isNew":false`}},
	})
}
