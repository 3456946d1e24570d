package coretest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

// UserPassword is the password of the accounts CreateUser makes.
const UserPassword = "Secret12345"

// CreateCollection creates the collection that js describes, as the
// collections API's body would (`{"name":"posts","fields":[...]}`), and
// fails t with the field errors if it is refused.
func CreateCollection(t testing.TB, app *core.App, js string) *core.Collection {
	t.Helper()
	var in core.CollectionInput
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatalf("coretest: collection JSON: %v", err)
	}
	c, err := app.Collections().Create(context.Background(), &in)
	if err != nil {
		var ce *core.Error
		if errors.As(err, &ce) {
			t.Fatalf("coretest: create collection: %v %+v", err, ce.Fields)
		}
		t.Fatalf("coretest: create collection: %v", err)
	}
	return c
}

// FindCollection returns the collection named name, failing t if there is
// none.
func FindCollection(t testing.TB, app *core.App, name string) *core.Collection {
	t.Helper()
	c, err := app.Collections().Find(name)
	if err != nil {
		t.Fatalf("coretest: find collection %s: %v", name, err)
	}
	return c
}

// CreateRecord creates a record of collection from data, as a superuser
// would (rules do not apply), and fails t if it is refused.
func CreateRecord(t testing.TB, app *core.App, collection string, data map[string]any) *core.Record {
	t.Helper()
	c := FindCollection(t, app, collection)
	rec, err := app.Records().Create(core.AsSystem(context.Background()), c, data)
	if err != nil {
		t.Fatalf("coretest: create %s record: %v", collection, err)
	}
	return rec
}

// CreateUser creates an account of the auth collection with email and
// UserPassword.
func CreateUser(t testing.TB, app *core.App, collection, email string) *core.Record {
	t.Helper()
	return CreateRecord(t, app, collection, map[string]any{
		"email": email, "password": UserPassword, "passwordConfirm": UserPassword,
	})
}

// AuthToken returns an auth token of rec (a superuser or any auth
// record) for the API's Authorization header.
func AuthToken(t testing.TB, app *core.App, rec *core.Record) string {
	t.Helper()
	token, err := app.Auth().NewAuthToken(rec)
	if err != nil {
		t.Fatalf("coretest: auth token: %v", err)
	}
	return token
}
