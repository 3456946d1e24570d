package coretest

import (
	"context"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

// Superuser email and password of the account Superuser makes.
const (
	SuperuserEmail    = "admin@example.com"
	SuperuserPassword = "Secret12345"
)

// Superuser makes (or finds) the superuser SuperuserEmail in app and
// returns it with an auth token for the API's Authorization header.
func Superuser(t testing.TB, app *core.App) (*core.Record, string) {
	t.Helper()
	su, err := app.Superusers().Upsert(context.Background(), SuperuserEmail, SuperuserPassword)
	if err != nil {
		t.Fatal(err)
	}
	token, err := app.Auth().NewAuthToken(su)
	if err != nil {
		t.Fatal(err)
	}
	return su, token
}
