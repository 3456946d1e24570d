package core_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// colorKind is a field type only this test knows.
type colorKind struct{ core.FieldKindBase }

func (colorKind) Type() string { return "color" }

// TestFieldKindRegistry: kinds are the App's, added by option or before
// Bootstrap, never replacing a built-in type nor changing once it runs.
func TestFieldKindRegistry(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithFieldKinds(colorKind{})))
	if k, ok := app.FieldKind("color"); !ok || k.Type() != "color" {
		t.Fatalf("FieldKind(color) = %v, %v", k, ok)
	}
	if !slices.Contains(app.FieldKinds(), "color") || !slices.Contains(app.FieldKinds(), core.FieldText) {
		t.Fatalf("FieldKinds() = %v", app.FieldKinds())
	}
	if slices.Contains(core.FieldTypes(), "color") {
		t.Fatal("FieldTypes lists an App's own type")
	}
	if err := app.RegisterFieldKind(colorKind{}); err == nil {
		t.Fatal("RegisterFieldKind after Bootstrap succeeded")
	}
	if _, ok := coretest.NewApp(t).FieldKind("color"); ok {
		t.Fatal("another App knows the type")
	}

	fresh := core.New(coretest.Config(t))
	if err := fresh.RegisterFieldKind(colorKind{}); err != nil {
		t.Fatalf("RegisterFieldKind before Bootstrap: %v", err)
	}
	if err := fresh.RegisterFieldKind(colorKind{}); err == nil {
		t.Fatal("a type registered twice")
	}
	if err := fresh.RegisterFieldKind(textAgain{}); err == nil {
		t.Fatal("a built-in type replaced")
	}
}

type textAgain struct{ core.FieldKindBase }

func (textAgain) Type() string { return core.FieldText }

// TestFieldKindOwnsRecordValues: a record of a collection with a
// registered type normalizes and stores through the kind, on the test
// dialect.
func TestFieldKindOwnsRecordValues(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithFieldKinds(upperKind{})))
	ctx := context.Background()
	name := "shout"
	fields := []*core.Field{{Name: "word", Type: "upper"}}
	c, err := app.Collections().Create(ctx, &core.CollectionInput{Name: &name, Fields: &fields})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"word": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := app.Records().Find(ctx, c, rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if w := got.Get("word"); w != "HI" {
		t.Fatalf("word = %v, want HI", w)
	}
}

type upperKind struct{ core.FieldKindBase }

func (upperKind) Type() string { return "upper" }

func (upperKind) Normalize(_ *core.Field, v any) any {
	s, _ := v.(string)
	return strings.ToUpper(s)
}
