package realtime

import (
	"context"
	"encoding/json"
)

// Cluster is the Broker of an instance in a cluster: it keeps this
// instance's clients in a Local broker and sends every event both to this
// instance's handlers, at once, and through send to the other instances,
// whose Receive hands it to theirs. The App builds it on Redis pub/sub (a
// cluster.Bus topic) when redis.url is set.
//
// Local delivery never waits for the other instances, so that an outage
// of the transport loses only the events meant for them.
type Cluster struct {
	*Local
	send func(data []byte)
}

// NewCluster returns a broker that keeps its clients and handlers in local
// and sends each published event, encoded, with send, which must not
// block.
func NewCluster(local *Local, send func(data []byte)) *Cluster {
	return &Cluster{Local: local, send: send}
}

// Publish implements Broker: this instance's handlers get ev at once, the
// other instances' through the transport.
func (c *Cluster) Publish(_ context.Context, ev Event) error {
	c.Deliver(ev)
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	c.send(data)
	return nil
}

// Receive delivers an event another instance published.
func (c *Cluster) Receive(data []byte) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil || ev.Action == "" {
		return
	}
	c.Deliver(ev)
}

var _ Broker = (*Cluster)(nil)
