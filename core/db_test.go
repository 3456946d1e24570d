package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestAfterCommitOutsideTxRunsAtOnce(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ran := false
	app.AfterCommit(context.Background(), func(context.Context) { ran = true })
	if !ran {
		t.Fatal("AfterCommit outside a transaction did not run at once")
	}
}

// Committed hooks of writes that join an outer transaction wait for its
// commit, see the committed row, and never fire if it rolls back.
func TestCommittedHooksWaitForOutermostCommit(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	notes, err := app.Collections().Create(ctx, input(t, `{"name":"notes","fields":[{"name":"title","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sys := &core.RequestInfo{Actor: core.SystemActor()}

	var fired []string
	app.OnRecordCreateCommitted("notes").BindFunc(func(e *core.RecordEvent) error {
		// The hook's context is outside the transaction and sees the row.
		if _, err := app.Records().Find(e.Context, notes, e.Record.ID()); err != nil {
			t.Errorf("committed hook cannot read %s: %v", e.Record.ID(), err)
		}
		fired = append(fired, e.Record.GetString("title"))
		return e.Next()
	})

	err = app.InTx(ctx, func(ctx context.Context) error {
		if _, err := app.Records().Create(core.WithRequest(ctx, sys), notes, map[string]any{"title": "a"}); err != nil {
			return err
		}
		if _, err := app.Records().Create(core.WithRequest(ctx, sys), notes, map[string]any{"title": "b"}); err != nil {
			return err
		}
		if len(fired) != 0 {
			t.Errorf("committed hooks fired inside the transaction: %v", fired)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fired) != 2 || fired[0] != "a" || fired[1] != "b" {
		t.Fatalf("fired = %v, want [a b]", fired)
	}

	fired = nil
	boom := errors.New("boom")
	err = app.InTx(ctx, func(ctx context.Context) error {
		if _, err := app.Records().Create(core.WithRequest(ctx, sys), notes, map[string]any{"title": "undone"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if len(fired) != 0 {
		t.Fatalf("committed hook fired for a rolled back create: %v", fired)
	}
	res, err := app.Records().List(core.WithRequest(ctx, sys), notes, core.RecordQuery{Filter: `title = "undone"`})
	if err != nil || res.TotalItems != 0 {
		t.Fatalf("rolled back record: %v, %v", res, err)
	}

	// Without an outer transaction the hook fires when the call returns.
	if _, err := app.Records().Create(core.WithRequest(ctx, sys), notes, map[string]any{"title": "c"}); err != nil {
		t.Fatal(err)
	}
	if len(fired) != 1 || fired[0] != "c" {
		t.Fatalf("fired = %v, want [c]", fired)
	}
}
