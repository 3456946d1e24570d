package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/realtime"
)

// nextMessage waits for the client's next message.
func nextMessage(t *testing.T, c *realtime.Client) realtime.Message {
	t.Helper()
	select {
	case m := <-c.Outbox():
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no realtime message within the deadline")
	}
	return realtime.Message{}
}

func connectClient(t *testing.T, app *core.App, subs ...string) *realtime.Client {
	t.Helper()
	c, err := app.Realtime().Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Realtime().Disconnect(c.ID()) })
	if err := app.Realtime().SetSubscriptions(core.AsSystem(context.Background()), c.ID(), subs); err != nil {
		t.Fatal(err)
	}
	return c
}

// A client that stops reading is dropped when its outbox fills; writers
// never wait for it, and the other clients get every event.
func TestRealtimeSlowClientIsDropped(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	posts, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	slow := connectClient(t, app, "posts/*")
	fast := connectClient(t, app, "posts/*")
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	const n = core.RealtimeClientBuffer + 10
	done := make(chan int)
	go func() {
		got := 0
		for range n {
			select {
			case <-fast.Outbox():
				got++
			case <-time.After(5 * time.Second):
				done <- got
				return
			}
		}
		done <- got
	}()
	for i := range n {
		if _, err := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"title": i}); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-done; got != n {
		t.Fatalf("fast client got %d of %d events", got, n)
	}
	if !slow.Dropped() || !slow.IsClosed() {
		t.Fatal("slow client was not dropped")
	}
	if fast.IsClosed() {
		t.Fatal("fast client was dropped")
	}
}

// A delete that rolls back sends nothing; one that commits sends the
// record as it was.
func TestRealtimeDeleteAfterCommitOnly(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	posts, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	c := connectClient(t, app, "posts/*")
	a, _ := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"title": "a"})
	b, _ := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"title": "b"})
	nextMessage(t, c)
	nextMessage(t, c)

	boom := errors.New("boom")
	err = app.InTx(ctx, func(ctx context.Context) error {
		if err := app.Records().Delete(core.WithRequest(ctx, sys), posts, a.ID()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := app.Records().Delete(core.WithRequest(ctx, sys), posts, b.ID()); err != nil {
		t.Fatal(err)
	}
	m := nextMessage(t, c)
	var data struct {
		Action string
		Record map[string]any
	}
	json.Unmarshal(m.Data, &data)
	if m.Name != "posts/*" || data.Action != "delete" || data.Record["id"] != b.ID() || data.Record["title"] != "b" {
		t.Fatalf("first message = %s %s", m.Name, m.Data)
	}
}
