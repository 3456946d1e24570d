package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// Sign-ins from one new device at the same moment, each in a transaction
// of its own, all succeed and record the device once: on PostgreSQL a
// unique violation would have aborted the losers' transactions.
func TestConcurrentSignInsFromANewDevice(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	users, err := app.Collections().Create(ctx, input(t, `{"name":"users","type":"auth","fields":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := app.Records().Create(core.AsSystem(ctx), users, map[string]any{"email": "u@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	if err != nil {
		t.Fatal(err)
	}

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- app.InTx(ctx, func(ctx context.Context) error {
				if err := app.Auth().NoteSignIn(ctx, rec, "10.0.0.1", "test-agent"); err != nil {
					return err
				}
				// Hold the transaction open so that the others overlap it.
				time.Sleep(50 * time.Millisecond)
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("sign-in: %v", err)
		}
	}
	var rows int64
	if err := app.DB(ctx).Table("_authOrigins").Where(`"recordRef" = ?`, rec.ID()).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d auth origins, want 1", rows)
	}
}
