package core_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestOnSettingsUpdateSeesOldAndNewAndVetoes(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	var oldName, newName string
	veto := errors.New("veto")
	app.OnSettingsUpdate().BindFunc(func(e *core.SettingsEvent) error {
		oldName, newName = e.Old.Meta.AppName, e.New.Meta.AppName
		if e.New.Meta.AppName == "Vetoed" {
			return veto
		}
		return e.Next()
	})

	s := app.Settings()
	s.Meta.AppName = "Renamed"
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if oldName != "Acme" || newName != "Renamed" {
		t.Fatalf("event old/new = %q/%q", oldName, newName)
	}

	s.Meta.AppName = "Vetoed"
	if err := app.SaveSettings(ctx, s); !errors.Is(err, veto) {
		t.Fatalf("err = %v, want veto", err)
	}
	if got := app.Settings().Meta.AppName; got != "Renamed" {
		t.Fatalf("a vetoed save changed the settings to %q", got)
	}
}

func TestOnPolicyChangeAroundTheChange(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := core.WithActor(context.Background(), core.SystemActor())

	var seen []string
	app.OnPolicyChange().BindFunc(func(e *core.PolicyEvent) error {
		if e.Policy != nil && e.Policy.Resource == "admin:jobs" {
			return errors.New("no jobs for you")
		}
		if err := e.Next(); err != nil {
			return err
		}
		switch {
		case e.Policy != nil:
			seen = append(seen, e.Action+" "+e.Policy.Subject)
		case e.OldPolicy != nil:
			seen = append(seen, e.Action+" "+e.OldPolicy.Subject)
		default:
			seen = append(seen, e.Action+" "+e.Role)
		}
		return nil
	})

	p, err := app.Policies().Create(ctx, core.PolicyInput{Subject: "role:editor", Resource: "admin:schema", Action: "read"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Policies().Create(ctx, core.PolicyInput{Subject: "role:editor", Resource: "admin:jobs", Action: "read"}); err == nil {
		t.Fatal("a vetoed policy was created")
	}
	if _, err := app.Policies().Update(ctx, strconv.FormatInt(p.ID, 10), core.PolicyInput{Action: "write"}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Policies().SaveRole(ctx, "editor", core.RoleInput{Inherits: []string{"viewer"}}); err != nil {
		t.Fatal(err)
	}
	if err := app.Policies().Delete(ctx, strconv.FormatInt(p.ID, 10)); err != nil {
		t.Fatal(err)
	}
	want := []string{"policy.create role:editor", "policy.update role:editor", "role.save editor", "policy.delete role:editor"}
	if len(seen) != len(want) {
		t.Fatalf("seen = %q, want %q", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("seen = %q, want %q", seen, want)
		}
	}
	all, err := app.Policies().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range all {
		if q.Resource == "admin:jobs" {
			t.Fatalf("vetoed policy stored: %+v", q)
		}
	}
}

func TestClientIPInContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if got := core.ClientIPFrom(ctx); got != "" {
		t.Fatalf("no IP = %q", got)
	}
	if got := core.ClientIPFrom(core.WithClientIP(ctx, "10.0.0.1")); got != "10.0.0.1" {
		t.Fatalf("ip = %q", got)
	}
}
