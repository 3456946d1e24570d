package realtime

import (
	"context"
	"encoding/json"
	"testing"
)

// Two cluster brokers joined by a fake transport: a published event
// reaches the publisher's handlers at once and the other's through the
// transport, delete snapshots included; garbage is ignored.
func TestClusterBroker(t *testing.T) {
	t.Parallel()
	var wire [][]byte
	a := NewCluster(NewLocal(0), func(data []byte) { wire = append(wire, data) })
	b := NewCluster(NewLocal(0), func([]byte) { t.Fatal("b published") })
	var gotA, gotB []Event
	a.Subscribe(func(ev Event) { gotA = append(gotA, ev) })
	b.Subscribe(func(ev Event) { gotB = append(gotB, ev) })

	ev := Event{Origin: "a", Action: "delete", Collection: "c1", RecordID: "r1", Record: json.RawMessage(`{"id":"r1","title":"x"}`)}
	if err := a.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(gotA) != 1 || len(wire) != 1 || len(gotB) != 0 {
		t.Fatalf("after publish: a %d, wire %d, b %d", len(gotA), len(wire), len(gotB))
	}
	b.Receive(wire[0])
	b.Receive([]byte(`not json`))
	b.Receive([]byte(`{}`))
	if len(gotB) != 1 || gotB[0].RecordID != "r1" || string(gotB[0].Record) != `{"id":"r1","title":"x"}` || gotB[0].Origin != "a" {
		t.Fatalf("b got %+v", gotB)
	}
	if err := b.Register(NewClient("x", 1)); err != nil || b.Len() != 1 || a.Len() != 0 {
		t.Fatal("clients are not kept per broker")
	}
}
