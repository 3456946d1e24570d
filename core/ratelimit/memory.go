package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxKeys is how many keys a Memory store holds by default: some
// tens of megabytes at most.
const DefaultMaxKeys = 1 << 18

const (
	shardCount = 32
	// sweepInterval is how often a shard drops its ended windows.
	sweepInterval = time.Minute
	// fullSweepInterval throttles the extra sweeps of a full shard, so that
	// a flood of new keys does not make every insert walk the shard.
	fullSweepInterval = time.Second
)

// Memory is a Counter held in the process. It is safe for concurrent use.
// Keys are spread over shards, each with its own lock; a shard drops the
// keys whose window has ended about once a minute, during a call, so
// Memory starts no goroutine and needs no closing. When a shard is full, a
// new key evicts an arbitrary one: under a flood of keys some clients may
// get a fresh window, but memory stays bounded.
type Memory struct {
	now      func() time.Time
	seed     maphash.Seed
	perShard int
	shards   [shardCount]shard
}

type shard struct {
	mu        sync.Mutex
	entries   map[string]window
	lastSweep int64    // unix nanoseconds
	_         [32]byte // keeps shards on separate cache lines
}

// window is one key's current fixed window.
type window struct {
	end   int64 // unix nanoseconds
	count int
}

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) MemoryOption { return func(m *Memory) { m.now = now } }

// WithMaxKeys bounds the keys held (rounded up to a multiple of the shard
// count); the default is DefaultMaxKeys.
func WithMaxKeys(n int) MemoryOption {
	return func(m *Memory) { m.perShard = max(1, (n+shardCount-1)/shardCount) }
}

// NewMemory returns an empty Memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, seed: maphash.MakeSeed(), perShard: DefaultMaxKeys / shardCount}
	for _, opt := range opts {
		opt(m)
	}
	for i := range m.shards {
		m.shards[i].entries = map[string]window{}
	}
	return m
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%shardCount]
}

// Allow implements Store.
func (m *Memory) Allow(_ context.Context, key string, limit int, period time.Duration) (bool, time.Duration, error) {
	if limit < 1 {
		return false, period, nil
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if now-s.lastSweep >= int64(sweepInterval) {
		s.sweep(now)
	}
	w, ok := s.entries[key]
	switch {
	case !ok:
		s.makeRoom(now, m.perShard)
		w = window{end: now + int64(period)}
	case now >= w.end:
		w = window{end: now + int64(period)}
	case w.count >= limit:
		return false, time.Duration(w.end - now), nil
	}
	w.count++
	s.entries[key] = w
	return true, 0, nil
}

// Peek implements Counter.
func (m *Memory) Peek(_ context.Context, key string, limit int) (bool, time.Duration, error) {
	if limit < 1 {
		return false, 0, nil
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	w, ok := s.entries[key]
	s.mu.Unlock()
	if !ok || now >= w.end || w.count < limit {
		return true, 0, nil
	}
	return false, time.Duration(w.end - now), nil
}

// Reset implements Counter.
func (m *Memory) Reset(_ context.Context, key string) error {
	s := m.shard(key)
	s.mu.Lock()
	delete(s.entries, key)
	s.mu.Unlock()
	return nil
}

// Len returns how many keys the store holds, ended windows not yet swept
// included.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// sweep drops the windows that have ended. The caller holds s.mu.
func (s *shard) sweep(now int64) {
	s.lastSweep = now
	for k, w := range s.entries {
		if now >= w.end {
			delete(s.entries, k)
		}
	}
}

// makeRoom frees a slot for a new key when the shard is full: ended
// windows first, then arbitrary keys. The caller holds s.mu.
func (s *shard) makeRoom(now int64, limit int) {
	if len(s.entries) < limit {
		return
	}
	if now-s.lastSweep >= int64(fullSweepInterval) {
		s.sweep(now)
	}
	for k := range s.entries {
		if len(s.entries) < limit {
			break
		}
		delete(s.entries, k)
	}
}

var _ Counter = (*Memory)(nil)
