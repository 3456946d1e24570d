package apis_test

import (
	"slices"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// A PATCH of the settings merges objects key by key but replaces arrays
// wholly: nothing of a stored rate-limit rule or proxy header list survives
// at the position of one sent anew.
func TestSettingsPatchReplacesArrays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	e.run(t, []scenario{
		{name: "store rules with audiences and two proxy headers", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"rateLimits":{"rules":[
				{"label":"/api/a/","audience":"@guest","maxRequests":7,"duration":2},
				{"label":"/api/b/","audience":"@auth","maxRequests":8,"duration":3}]},
				"trustedProxy":{"headers":["X-Real-IP","X-Forwarded-For"],"useLeftmostIP":true}}`,
			wantStatus: 200},
		{name: "a rule and a header sent anew", method: "PATCH", path: "/api/settings", token: "superuser",
			body:       `{"rateLimits":{"rules":[{"label":"/api/c/","maxRequests":5,"duration":1}]},"trustedProxy":{"headers":["CF-Connecting-IP"]}}`,
			wantStatus: 200,
			wantContent: []string{`"rules":[{"label":"/api/c/","audience":"","duration":1,"maxRequests":5}]`,
				`"trustedProxy":{"headers":["CF-Connecting-IP"],"useLeftmostIP":true}`}},
	})
	got := e.app.Settings()
	want := []core.RateLimitRule{{Label: "/api/c/", MaxRequests: 5, Duration: 1}}
	if !slices.Equal(got.RateLimits.Rules, want) {
		t.Errorf("rules = %+v, want %+v", got.RateLimits.Rules, want)
	}
	if !slices.Equal(got.TrustedProxy.Headers, []string{"CF-Connecting-IP"}) || !got.TrustedProxy.UseLeftmostIP {
		t.Errorf("trustedProxy = %+v", got.TrustedProxy)
	}

	e.run(t, []scenario{
		{name: "arrays left out are kept", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"rateLimits":{"enabled":true},"meta":{"appName":"Kept"}}`, wantStatus: 200,
			wantContent: []string{`"rateLimits":{"rules":[{"label":"/api/c/","audience":"","duration":1,"maxRequests":5}],"enabled":true}`,
				`"headers":["CF-Connecting-IP"]`}},
		{name: "null clears an array", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"trustedProxy":{"headers":null}}`, wantStatus: 200,
			wantContent: []string{`"trustedProxy":{"headers":[],"useLeftmostIP":true}`}},
		{name: "a rule of the wrong shape", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"rateLimits":{"rules":[{"label":5}]}}`, wantStatus: 400,
			wantContent: []string{`"message":"An error occurred while loading the submitted data."`}},
		{name: "rules sent as an object", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"rateLimits":{"rules":{"0":{"label":"/x/"}}}}`, wantStatus: 400},
	})
	if got := e.app.Settings(); !slices.Equal(got.RateLimits.Rules, want) || !got.RateLimits.Enabled || got.Meta.AppName != "Kept" {
		t.Errorf("settings after the rejected patches = %+v", got)
	}
}
