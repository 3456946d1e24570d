package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Member is one instance as it last described itself in its heartbeat.
type Member struct {
	ID       string `json:"id"`
	Version  string `json:"version"`
	Address  string `json:"address"`
	Hostname string `json:"hostname"`
	PID      int    `json:"pid"`
	// Started is when the instance started; Heartbeat when it last
	// reported.
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
	// Status is the instance's overall health at its last heartbeat ("ok",
	// "degraded" or "down"); Checks the status of each dependency.
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// Registry keeps the live members in Redis: each member's description
// under "<prefix>:member:<id>" with a TTL that its heartbeats renew, and an
// index of ids in the sorted set "<prefix>:members". A member that stops
// beating disappears when its key expires; the index is pruned on List.
type Registry struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

// NewRegistry returns the registry under prefix; members expire ttl after
// their last heartbeat.
func NewRegistry(rdb *redis.Client, prefix string, ttl time.Duration) *Registry {
	return &Registry{rdb: rdb, prefix: prefix, ttl: ttl}
}

// TTL returns how long a member lives without a heartbeat.
func (r *Registry) TTL() time.Duration { return r.ttl }

func (r *Registry) key(id string) string { return r.prefix + ":member:" + id }
func (r *Registry) index() string        { return r.prefix + ":members" }

// Beat stores m and renews its TTL.
func (r *Registry) Beat(ctx context.Context, m Member) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	pipe := r.rdb.TxPipeline()
	pipe.Set(ctx, r.key(m.ID), data, r.ttl)
	pipe.ZAdd(ctx, r.index(), redis.Z{Score: float64(m.Started.UnixMilli()), Member: m.ID})
	_, err = pipe.Exec(ctx)
	return err
}

// Leave removes the member id at once, for an instance shutting down.
func (r *Registry) Leave(ctx context.Context, id string) error {
	pipe := r.rdb.TxPipeline()
	pipe.Del(ctx, r.key(id))
	pipe.ZRem(ctx, r.index(), id)
	_, err := pipe.Exec(ctx)
	return err
}

// List returns the live members, oldest first.
func (r *Registry) List(ctx context.Context) ([]Member, error) {
	ids, err := r.rdb.ZRange(ctx, r.index(), 0, -1).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = r.key(id)
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	var out []Member
	var gone []any
	for i, v := range vals {
		s, ok := v.(string)
		var m Member
		if !ok || json.Unmarshal([]byte(s), &m) != nil {
			gone = append(gone, ids[i])
			continue
		}
		out = append(out, m)
	}
	if len(gone) > 0 {
		// Expired members; a failure here only delays the cleanup.
		_ = r.rdb.ZRem(ctx, r.index(), gone...).Err()
	}
	slices.SortFunc(out, func(a, b Member) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// IDs returns the ids of the live members.
func (r *Registry) IDs(ctx context.Context) ([]string, error) {
	members, err := r.List(ctx)
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	return ids, err
}
