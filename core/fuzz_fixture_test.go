package core_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// Fixed ids of the fuzz fixture's records, so that seeds can name them.
const (
	fuzzUserID = "usr000000000001"
	fuzzTag1   = "tag000000000001"
	fuzzTag2   = "tag000000000002"
	fuzzTag3   = "tag000000000003"
)

// kitchenFields has a field of every type, most with constraints, for
// the fuzz targets of record values and filters.
const kitchenFields = `[
	{"name":"title","type":"text","max":40,"pattern":"^[^#]*$"},
	{"name":"code","type":"text","min":2,"max":8},
	{"name":"views","type":"number","min":-1000,"max":1000000},
	{"name":"count","type":"number","onlyInt":true},
	{"name":"live","type":"bool"},
	{"name":"contact","type":"email","exceptDomains":["spam.test"]},
	{"name":"site","type":"url"},
	{"name":"body","type":"editor"},
	{"name":"due","type":"date","min":"2000-01-01 00:00:00.000Z","max":"2100-01-01 00:00:00.000Z"},
	{"name":"status","type":"select","values":["draft","live","archived"]},
	{"name":"kinds","type":"select","values":["a","b","c","d"],"maxSelect":3},
	{"name":"meta","type":"json","maxSize":4000},
	{"name":"author","type":"relation","collectionId":"users"},
	{"name":"tags","type":"relation","collectionId":"tags","maxSelect":5},
	{"name":"doc","type":"file"},
	{"name":"pics","type":"file","maxSelect":3},
	{"name":"place","type":"geoPoint"},
	{"name":"secret","type":"text","hidden":true},
	{"name":"created","type":"autodate","onCreate":true},
	{"name":"updated","type":"autodate","onCreate":true,"onUpdate":true}
]`

// fuzzFixture is an App with "kitchen", a collection of every field type,
// the users and tags its relations point at, and comments pointing back
// at it. Client filters meet three kinds of joined collection: users list
// only themselves (a listRule), guests may not list tags (Casbin), and
// comments are for superusers (a null listRule).
type fuzzFixture struct {
	app     *core.App
	kitchen *core.Collection
	users   *core.Collection
	user    *core.Record
}

func newFuzzFixture(tb testing.TB) *fuzzFixture {
	tb.Helper()
	ctx := context.Background()
	app := coretest.NewApp(tb)
	create := func(js string) *core.Collection {
		var in core.CollectionInput
		if err := json.Unmarshal([]byte(js), &in); err != nil {
			tb.Fatal(err)
		}
		c, err := app.Collections().Create(ctx, &in)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	su := &core.RequestInfo{Actor: core.SystemActor()}
	record := func(c *core.Collection, body map[string]any) *core.Record {
		r, err := app.Records().Create(core.WithRequest(ctx, su), c, body)
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
	fx := &fuzzFixture{app: app}
	fx.users = create(`{"name":"users","type":"auth","listRule":"id = @request.auth.id","fields":[{"name":"name","type":"text"}]}`)
	tags := create(`{"name":"tags","listRule":"","fields":[{"name":"label","type":"text"}]}`)
	fx.kitchen = create(`{"name":"kitchen","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"","fields":` + kitchenFields + `}`)
	create(`{"name":"comments","fields":[{"name":"text","type":"text"},{"name":"post","type":"relation","collectionId":"kitchen"}]}`)
	guestTags := authz.Policy{Subject: authz.Guest, Resource: authz.CollectionResource("tags"), Action: "list", Effect: "deny"}
	if _, err := app.Authz().AddPolicy(ctx, guestTags); err != nil {
		tb.Fatal(err)
	}

	fx.user = record(fx.users, map[string]any{"id": fuzzUserID, "email": "ann@example.test", "name": "Ann",
		"password": "Secret12345", "passwordConfirm": "Secret12345"})
	for i, id := range []string{fuzzTag1, fuzzTag2, fuzzTag3} {
		record(tags, map[string]any{"id": id, "label": []string{"go", "sql", "web"}[i]})
	}
	return fx
}
