package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hatchgrid/hatchgrid/core/realtime"
)

// errSnapshotChecked ends the transaction of a remote delete's rule check.
var errSnapshotChecked = errors.New("realtime: snapshot checked")

// handleRemoteDelete sends a delete made on another instance to this
// instance's clients that may see it. Rules are SQL over the record's
// table and the row is gone by now, so the record the event carries is put
// back inside a transaction that is then rolled back: each client's rule
// sees the record as it was and the rest of the database as it is.
func (r *Realtime) handleRemoteDelete(ctx context.Context, c *Collection, ev realtime.Event) {
	rec, err := recordFromSnapshot(c, ev.Record)
	if err != nil {
		r.app.logger.Warn("realtime: unreadable delete event", "collection", c.Name, "error", err)
		return
	}
	if c.IsAuth() {
		defer r.refreshAuth(rec, true)
	}
	if !r.anySubscribed(c, rec.ID()) {
		return
	}
	var pending []realtimeMessage
	err = r.app.InTx(ctx, func(ctx context.Context) error {
		if err := r.app.Records().insert(ctx, rec); err != nil {
			return err
		}
		pending = r.messages(ctx, rec, "delete")
		return errSnapshotChecked
	})
	if !errors.Is(err, errSnapshotChecked) {
		// The id or a unique value is taken again: nobody can be shown the
		// record as it was.
		r.app.logger.Warn("realtime: cannot check a remote delete", "collection", c.Name, "id", rec.ID(), "error", err)
		return
	}
	for _, m := range pending {
		m.client.Send(m.msg)
	}
}

// anySubscribed reports whether some client of this instance subscribes
// to a topic about record id of c.
func (r *Realtime) anySubscribed(c *Collection, id string) bool {
	for _, cl := range r.broker.Clients() {
		for _, sub := range cl.Subscriptions() {
			if _, ok := topicAction(sub.Topic, c, id); ok {
				return true
			}
		}
	}
	return false
}

// recordFromSnapshot rebuilds a record of c from the JSON of its data, as
// a delete event carries it; fields missing from it get their zero value.
func recordFromSnapshot(c *Collection, snapshot json.RawMessage) (*Record, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(snapshot, &raw); err != nil {
		return nil, err
	}
	rec := &Record{collection: c, data: make(map[string]any, len(c.Fields))}
	for _, f := range c.Fields {
		var v any
		if js, ok := raw[f.Name]; ok && string(js) != "null" {
			if f.Kind().Traits().Document { // kept as the document it is
				v = json.RawMessage(js)
			} else if err := json.Unmarshal(js, &v); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		rec.data[f.Name] = normalize(f, v)
	}
	if rec.ID() == "" {
		return nil, errors.New("snapshot without an id")
	}
	rec.original = make(map[string]any, len(rec.data))
	for k, v := range rec.data {
		rec.original[k] = v
	}
	return rec, nil
}

// topicSubscriptions carries a subscription request to the instance that
// holds the client's stream.
const topicSubscriptions = "realtime-subscriptions"

// subscriptionRequest is a POST /api/realtime made on another instance
// than the client's stream: the caller's auth travels as its record's
// identity, which the holder loads itself.
type subscriptionRequest struct {
	ClientID      string   `json:"clientId"`
	Subscriptions []string `json:"subscriptions"`
	AuthOf        string   `json:"authCollectionId,omitempty"`
	AuthID        string   `json:"authId,omitempty"`
}

type subscriptionReply struct {
	Found     bool `json:"found"`
	Forbidden bool `json:"forbidden,omitempty"`
}

// setSubscriptions hands the subscriptions of client id, which is not on
// this instance, to the instance that has it and answers as it would have.
func (c *Cluster) setSubscriptions(id string, subs []string, req *RequestInfo) error {
	notFound := Errorf(CodeNotFound, "Missing or invalid client id.")
	if c.bus == nil || id == "" {
		return notFound
	}
	msg := subscriptionRequest{ClientID: id, Subscriptions: subs}
	if req != nil && req.Actor.ID != "" {
		msg.AuthOf, msg.AuthID = req.Actor.CollectionID, req.Actor.ID
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterAckTimeout)
	defer cancel()
	peers, err := c.registry.IDs(ctx)
	if err != nil {
		c.app.logger.Warn("cluster: list members to forward a realtime subscription", "component", "cluster", "error", err)
		return notFound
	}
	replies, err := c.bus.Request(ctx, topicSubscriptions, data, peers, clusterAckTimeout)
	for _, raw := range replies {
		var r subscriptionReply
		if json.Unmarshal(raw, &r) != nil || !r.Found {
			continue
		}
		if r.Forbidden {
			return Errorf(CodeForbidden, "The current and the previous request authorization don't match.")
		}
		return nil
	}
	if err != nil {
		c.app.logger.Warn("cluster: forward a realtime subscription", "component", "cluster", "error", err)
	}
	return notFound
}

// applySubscriptions answers another instance's subscriptionRequest.
func (c *Cluster) applySubscriptions(data []byte) []byte {
	var msg subscriptionRequest
	if json.Unmarshal(data, &msg) != nil {
		return nil
	}
	client := c.app.rt.broker.Client(msg.ClientID)
	if client == nil {
		out, _ := json.Marshal(subscriptionReply{})
		return out
	}
	req := &RequestInfo{Context: "realtime"}
	if msg.AuthID != "" {
		if col, err := c.app.collections.Find(msg.AuthOf); err == nil && col.IsAuth() {
			if rec, err := c.app.Records().Find(context.Background(), col, msg.AuthID); err == nil {
				req.SetAuth(rec)
			}
		}
	}
	err := setSubscriptions(client, msg.Subscriptions, req)
	out, _ := json.Marshal(subscriptionReply{Found: true, Forbidden: err != nil})
	return out
}
