package apis_test

import (
	"context"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestInstallCreatesTheFirstSuperuser(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	token, err := app.Superusers().NewInstallToken(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e := wrapEnv(apitest.WithoutSuperuser(app))
	body := func(tok, pw2 string) string {
		return `{"token":"` + tok + `","email":"first@example.com","password":"Secret12345","passwordConfirm":"` + pw2 + `"}`
	}
	e.run(t, []scenario{
		{name: "bad token", method: "POST", path: "/api/hg/install", body: body("x.y.z", "Secret12345"), wantStatus: 403},
		{name: "mismatch", method: "POST", path: "/api/hg/install", body: body(token, "nope"), wantStatus: 400},
		{name: "creates and signs in", method: "POST", path: "/api/hg/install", body: body(token, "Secret12345"), wantStatus: 200,
			wantContent: []string{`"token":"`, `"email":"first@example.com"`, `"collectionName":"_superusers"`}},
		{name: "spent once a superuser exists", method: "POST", path: "/api/hg/install", body: body(token, "Secret12345"), wantStatus: 403},
	})
	if n, _ := app.Superusers().Count(context.Background()); n != 1 {
		t.Fatalf("%d superusers", n)
	}
}
