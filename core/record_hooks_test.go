package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestRecordHooks(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	posts, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"},{"name":"slug","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	other, err := app.Collections().Create(ctx, input(t, `{"name":"other","fields":[{"name":"title","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}

	var trace []string
	app.OnRecordCreate("posts").BindFunc(func(e *core.RecordEvent) error {
		e.Record.Set("slug", strings.ReplaceAll(strings.ToLower(e.Record.GetString("title")), " ", "-"))
		trace = append(trace, "create:"+e.Record.Collection().Name)
		return e.Next()
	})
	app.OnRecordCreateCommitted().BindFunc(func(e *core.RecordEvent) error {
		// After the commit the row is visible outside the transaction.
		if _, err := app.Records().Find(context.Background(), e.Record.Collection(), e.Record.ID()); err != nil {
			t.Errorf("committed hook cannot see the row: %v", err)
		}
		trace = append(trace, "committed:"+e.Record.Collection().Name)
		return e.Next()
	})
	app.OnRecordUpdate("posts").BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetString("title") == "" {
			return core.Invalid("Failed to update record.", map[string]core.FieldError{"title": core.Required()})
		}
		return e.Next()
	})
	veto := errors.New("no deletes")
	app.OnRecordDelete(posts.ID).BindFunc(func(e *core.RecordEvent) error { return veto })

	sys := &core.RequestInfo{Actor: core.SystemActor()}
	rec, err := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"title": "Hello World"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetString("slug") != "hello-world" {
		t.Fatalf("slug = %q", rec.GetString("slug"))
	}
	if _, err := app.Records().Create(core.WithRequest(ctx, sys), other, map[string]any{"title": "x"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(trace, ","); got != "create:posts,committed:posts,committed:other" {
		t.Fatalf("trace = %s", got)
	}

	_, err = app.Records().Update(core.WithRequest(ctx, sys), posts, rec.ID(), map[string]any{"title": ""})
	if ce, ok := err.(*core.Error); !ok || ce.Fields["title"].Code != "validation_required" {
		t.Fatalf("vetoed update: %v", err)
	}
	if err := app.Records().Delete(core.WithRequest(ctx, sys), posts, rec.ID()); !errors.Is(err, veto) {
		t.Fatalf("vetoed delete: %v", err)
	}
	stored, err := app.Records().Find(ctx, posts, rec.ID())
	if err != nil || stored.GetString("title") != "Hello World" {
		t.Fatalf("record after vetoes: %v %v", stored, err)
	}
}
