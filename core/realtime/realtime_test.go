package realtime

import (
	"context"
	"errors"
	"testing"
)

func TestParseSubscription(t *testing.T) {
	t.Parallel()
	s := ParseSubscription(`posts/*?options=` + `%7B%22query%22%3A%7B%22expand%22%3A%22author%22%2C%22n%22%3A1%7D%2C%22headers%22%3A%7B%22X-Token%22%3A%22abc%22%7D%7D`)
	if s.Topic != "posts/*" || s.Query["expand"] != "author" || s.Headers["x_token"] != "abc" || len(s.Query) != 1 {
		t.Fatalf("parsed %+v", s)
	}
	if s := ParseSubscription("posts?options=nope"); s.Topic != "posts" || s.Query != nil {
		t.Fatalf("bad options not ignored: %+v", s)
	}
}

func TestClientSendDropsSlowClient(t *testing.T) {
	t.Parallel()
	c := NewClient("a", 2)
	for i := range 2 {
		if !c.Send(Message{Name: "x"}) {
			t.Fatalf("send %d refused", i)
		}
	}
	if c.Send(Message{Name: "x"}) || !c.Dropped() || !c.IsClosed() {
		t.Fatal("full outbox did not drop the client")
	}
	if c.Send(Message{Name: "x"}) {
		t.Fatal("closed client accepted a message")
	}
}

func TestLocalBroker(t *testing.T) {
	t.Parallel()
	b := NewLocal(2)
	for _, id := range []string{"a", "b"} {
		if err := b.Register(NewClient(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Register(NewClient("c", 1)); !errors.Is(err, ErrTooManyClients) {
		t.Fatalf("over the cap: %v", err)
	}
	a := b.Client("a")
	b.Unregister("a")
	if !a.IsClosed() || b.Len() != 1 || b.Client("a") != nil {
		t.Fatal("unregister did not close and remove")
	}
	var got []Event
	cancel := b.Subscribe(func(ev Event) { got = append(got, ev) })
	_ = b.Publish(context.Background(), Event{Action: "create"})
	cancel()
	_ = b.Publish(context.Background(), Event{Action: "update"})
	if len(got) != 1 || got[0].Action != "create" {
		t.Fatalf("delivered %+v", got)
	}
	_ = b.Close()
	if b.Len() != 0 {
		t.Fatal("close kept clients")
	}
}
