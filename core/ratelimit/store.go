package ratelimit

import (
	"context"
	"time"
)

// Store counts events per key in fixed windows.
type Store interface {
	// Allow counts one event for key and reports whether it fits in max
	// events per window. The window starts at the key's first event; when
	// refused, retryAfter is how long until it ends. Refused events are
	// not counted, so a client that keeps trying is not locked out longer.
	// A max below 1 refuses everything.
	Allow(ctx context.Context, key string, max int, window time.Duration) (allowed bool, retryAfter time.Duration, err error)
}

// Counter is a Store whose keys can also be read without counting and
// cleared, as the brute-force guard needs: it counts failures only, but
// checks before every attempt.
type Counter interface {
	Store
	// Peek reports whether one more event for key would fit in max,
	// without counting it; when not, retryAfter is how long until the
	// key's window ends.
	Peek(ctx context.Context, key string, max int) (allowed bool, retryAfter time.Duration, err error)
	// Reset forgets key's events.
	Reset(ctx context.Context, key string) error
}
