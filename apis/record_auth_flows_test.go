package apis_test

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

var (
	tokenInMail = regexp.MustCompile(`[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
	otpInMail   = regexp.MustCompile(`\b\d{8}\b`)
)

func TestAuthEmailFlows(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	box := coretest.Mailbox(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","createRule":"","viewRule":"id = @request.auth.id","updateRule":"id = @request.auth.id",
		"otp":{"enabled":true,"duration":180,"length":8}}`)

	signUp := `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`
	var userID string
	e.run(t, []scenario{
		{name: "sign up", method: "POST", path: "/api/collections/users/records", body: signUp, wantStatus: 200,
			check: apitest.Grab("id", &userID)},
		{name: "verification for an unknown email is a 204 too", method: "POST", path: "/api/collections/users/request-verification",
			body: `{"email":"nobody@example.com"}`, wantStatus: 204},
		{name: "verification without email", method: "POST", path: "/api/collections/users/request-verification", body: `{}`, wantStatus: 400},
	})
	// mail sends the flow requests of s and returns the mail they make to.
	mail := func(to string, s ...scenario) string {
		t.Helper()
		return coretest.AwaitMail(t, app, to, func() { e.run(t, s) }).HTML
	}
	token := tokenInMail.FindString(mail("ann@example.com", scenario{name: "request verification", method: "POST",
		path: "/api/collections/users/request-verification", body: `{"email":"ann@example.com"}`, wantStatus: 204}))
	if box.Len() != 1 {
		t.Fatalf("%d mails, want only the one to ann", box.Len())
	}
	e.run(t, []scenario{
		{name: "confirm with a bad token", method: "POST", path: "/api/collections/users/confirm-verification", body: `{"token":"x.y.z"}`,
			wantStatus: 400, wantContent: []string{`"token":{"code":"validation_invalid_token"`}},
		{name: "confirm verification", method: "POST", path: "/api/collections/users/confirm-verification", body: `{"token":"` + token + `"}`, wantStatus: 204},
		{name: "signed in and verified", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ann@example.com","password":"Secret12345"}`, wantStatus: 200, wantContent: []string{`"verified":true`}},
		{name: "reset for an unknown email", method: "POST", path: "/api/collections/users/request-password-reset", body: `{"email":"nobody@example.com"}`, wantStatus: 204},
	})
	reset := tokenInMail.FindString(mail("ann@example.com", scenario{name: "request reset", method: "POST",
		path: "/api/collections/users/request-password-reset", body: `{"email":"ann@example.com"}`, wantStatus: 204}))
	e.run(t, []scenario{
		{name: "confirm reset mismatch", method: "POST", path: "/api/collections/users/confirm-password-reset",
			body: `{"token":"` + reset + `","password":"Changed12345","passwordConfirm":"nope"}`, wantStatus: 400},
		{name: "confirm reset", method: "POST", path: "/api/collections/users/confirm-password-reset",
			body: `{"token":"` + reset + `","password":"Changed12345","passwordConfirm":"Changed12345"}`, wantStatus: 204},
		{name: "reset token spent", method: "POST", path: "/api/collections/users/confirm-password-reset",
			body: `{"token":"` + reset + `","password":"Again123456","passwordConfirm":"Again123456"}`, wantStatus: 400},
		{name: "old password gone", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ann@example.com","password":"Secret12345"}`, wantStatus: 400},
		{name: "otp for an unknown email still gives an id", method: "POST", path: "/api/collections/users/request-otp",
			body: `{"email":"nobody@example.com"}`, wantStatus: 200, wantContent: []string{`"otpId":"`}},
	})

	// OTP sign-in.
	var otpID string
	otpMail := mail("ann@example.com", scenario{name: "request otp", method: "POST", path: "/api/collections/users/request-otp", body: `{"email":"ann@example.com"}`,
		wantStatus: 200, check: apitest.Grab("otpId", &otpID)})
	code := otpInMail.FindString(otpMail)
	if code == "" {
		t.Fatalf("no 8-digit code in the OTP mail: %s", otpMail)
	}
	var userToken string
	e.run(t, []scenario{
		{name: "wrong otp", method: "POST", path: "/api/collections/users/auth-with-otp", body: `{"otpId":"` + otpID + `","password":"00000000"}`, wantStatus: 400},
		{name: "otp sign in", method: "POST", path: "/api/collections/users/auth-with-otp", body: `{"otpId":"` + otpID + `","password":"` + code + `"}`,
			wantStatus: 200, wantContent: []string{`"id":"` + userID + `"`},
			check: apitest.Grab("token", &userToken)},
		{name: "otp spent", method: "POST", path: "/api/collections/users/auth-with-otp", body: `{"otpId":"` + otpID + `","password":"` + code + `"}`, wantStatus: 400},
	})

	// Email change.
	e.run(t, []scenario{
		{name: "email change needs auth", method: "POST", path: "/api/collections/users/request-email-change", body: `{"newEmail":"new@example.com"}`, wantStatus: 401},
		{name: "request email change", method: "POST", path: "/api/collections/users/request-email-change", token: userToken, body: `{"newEmail":"new@example.com"}`, wantStatus: 204},
	})
	m, _ := box.LastTo("new@example.com")
	change := tokenInMail.FindString(m.HTML)
	e.run(t, []scenario{
		{name: "confirm with wrong password", method: "POST", path: "/api/collections/users/confirm-email-change", body: `{"token":"` + change + `","password":"nope"}`, wantStatus: 400},
		{name: "confirm email change", method: "POST", path: "/api/collections/users/confirm-email-change", body: `{"token":"` + change + `","password":"Changed12345"}`, wantStatus: 204},
		{name: "new email signs in", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"new@example.com","password":"Changed12345"}`, wantStatus: 200},
	})
}

func TestMFA(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","createRule":"","mfa":{"enabled":true,"duration":600},"otp":{"enabled":true}}`)
	e.do(scenario{method: "POST", path: "/api/collections/users/records", body: `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`})

	var mfaID, otpID string
	e.run(t, []scenario{
		{name: "first factor asks for a second", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ann@example.com","password":"Secret12345"}`, wantStatus: 401, notErrorShape: true,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var body map[string]string
				json.Unmarshal(rec.Body.Bytes(), &body)
				mfaID = body["mfaId"]
				if mfaID == "" {
					t.Fatalf("no mfaId: %s", rec.Body.String())
				}
			}},
		{name: "auth methods report mfa", path: "/api/collections/users/auth-methods", wantStatus: 200, wantContent: []string{`"mfa":{"duration":600,"enabled":true}`}},
	})
	e.run(t, []scenario{
		{name: "same method again is refused", method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ann@example.com","password":"Secret12345","mfaId":"` + mfaID + `"}`, wantStatus: 400},
	})
	m := coretest.AwaitMail(t, app, "ann@example.com", func() {
		e.run(t, []scenario{{name: "request otp", method: "POST", path: "/api/collections/users/request-otp", body: `{"email":"ann@example.com"}`, wantStatus: 200,
			check: apitest.Grab("otpId", &otpID)}})
	})
	code := otpInMail.FindString(m.HTML)
	e.run(t, []scenario{
		{name: "second factor with the mfaId", method: "POST", path: "/api/collections/users/auth-with-otp",
			body: `{"otpId":"` + otpID + `","password":"` + code + `","mfaId":"` + mfaID + `"}`, wantStatus: 200, wantContent: []string{`"token":"`}},
	})
}

func TestBruteForceGuard(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","createRule":""}`)
	e.do(scenario{method: "POST", path: "/api/collections/users/records", body: `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`})
	e.do(scenario{method: "POST", path: "/api/collections/users/records", body: `{"email":"bob@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`})

	// A correct password right away is never slowed.
	e.run(t, []scenario{{name: "first sign-in", method: "POST", path: "/api/collections/users/auth-with-password",
		body: `{"identity":"bob@example.com","password":"Secret12345"}`, wantStatus: 200}})
	limited := 0
	for i := 0; i < 20; i++ {
		rec := e.do(scenario{method: "POST", path: "/api/collections/users/auth-with-password", body: `{"identity":"ann@example.com","password":"wrong"}`})
		switch rec.Code {
		case 429:
			limited++
			apitest.AssertErrorShape(t, rec)
		case 400:
		default:
			t.Fatalf("attempt %d: %d %s", i, rec.Code, rec.Body.String())
		}
	}
	if limited == 0 || limited == 20 {
		t.Fatalf("%d of 20 wrong passwords were rate limited, want the later ones", limited)
	}
	e.run(t, []scenario{{name: "the right password is refused while limited", method: "POST", path: "/api/collections/users/auth-with-password",
		body: `{"identity":"ann@example.com","password":"Secret12345"}`, wantStatus: 429}})
}

func TestLoginAlert(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	box := coretest.Mailbox(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","createRule":""}`)
	e.do(scenario{method: "POST", path: "/api/collections/users/records", body: `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`})

	signIn := func(agent string) {
		t.Helper()
		rec := e.do(scenario{method: "POST", path: "/api/collections/users/auth-with-password",
			body: `{"identity":"ann@example.com","password":"Secret12345"}`, headers: map[string]string{"User-Agent": agent}})
		if rec.Code != 200 {
			t.Fatalf("sign in: %d %s", rec.Code, rec.Body.String())
		}
	}
	signIn("laptop")
	signIn("laptop")
	time.Sleep(100 * time.Millisecond)
	if box.Len() != 0 {
		t.Fatalf("%d mails after sign-ins from one device, want none", box.Len())
	}
	signIn("phone")
	coretest.Poll(5*time.Second, func() bool { return box.Len() != 0 }) // the check below says what came
	m, ok := box.LastTo("ann@example.com")
	if !ok || !strings.Contains(m.HTML, "phone") {
		t.Fatalf("no login alert naming the new device: %v %+v", ok, m)
	}
}
