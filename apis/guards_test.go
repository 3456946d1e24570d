package apis_test

import (
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestSignInGuardIdentityVariants replays finding 10 of issue 15: the
// sign-in lookup drops NUL bytes and ignores case, so every variant below
// finds ann's account; the guard must count them all as ann's failures.
// Before the fix each NUL variant had its own bucket: an attacker got
// BruteForceMaxPerIdentity fresh guesses per variant, and the right
// password still signed in after them.
func TestSignInGuardIdentityVariants(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","createRule":""}`)
	e.do(scenario{method: "POST", path: "/api/collections/users/records", body: `{"email":"ann@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`})

	const email = "ann@example.com"
	for i := range core.BruteForceMaxPerIdentity {
		// A NUL at a different place each time, every other one in upper
		// case: ten spellings of one identity, all from one client.
		spelling := email
		if i%2 == 1 {
			spelling = strings.ToUpper(email)
		}
		variant := spelling[:i] + `\u0000` + spelling[i:]
		rec := e.do(scenario{method: "POST", path: "/api/collections/users/auth-with-password", body: signInBody(variant, "wrong-password")})
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "Failed to authenticate.") {
			t.Fatalf("wrong password %d (%s): %d %s", i, variant, rec.Code, rec.Body.String())
		}
	}
	e.run(t, []scenario{
		{name: "the right password is refused after the variants' failures", method: "POST",
			path: "/api/collections/users/auth-with-password", body: signInBody(email, "Secret12345"), wantStatus: 429},
		{name: "so is a new variant", method: "POST",
			path: "/api/collections/users/auth-with-password", body: signInBody(`a\u0000nn@EXAMPLE.com`, "Secret12345"), wantStatus: 429},
	})
}
