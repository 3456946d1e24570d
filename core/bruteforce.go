package core

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core/ratelimit"
)

// The brute-force guard's limits. They apply whatever settings.rateLimits
// say, rate limiting off included.
const (
	// BruteForceMaxPerIdentity is how many failed sign-ins one identity
	// may have per BruteForceWindow.
	BruteForceMaxPerIdentity = 10
	// BruteForceMaxPerIP is how many failed sign-ins one client IP may
	// have per BruteForceWindow, whatever identities it tries.
	BruteForceMaxPerIP = 30
	// BruteForceWindow is the fixed window failures are counted in; it
	// starts at the first failure.
	BruteForceWindow = time.Minute
)

// BruteForce guards password sign-ins: it counts failures per identity and
// per client IP, and refuses further attempts once either is over its
// limit until the window ends. Successful sign-ins are never counted and
// never wait.
//
// The identity bucket also means that anyone can hold an account's
// sign-ins off for a minute by failing ten times; the short window keeps
// that cheap for the owner.
type BruteForce struct {
	identities ratelimit.Counter
	ips        ratelimit.Counter
	logger     *slog.Logger
}

// newBruteForce keeps the counts in the process, on the App's clock.
func newBruteForce(a *App) *BruteForce {
	return &BruteForce{
		identities: ratelimit.NewMemory(ratelimit.WithClock(a.clock)),
		ips:        ratelimit.NewMemory(ratelimit.WithClock(a.clock)),
		logger:     a.logger,
	}
}

// Check returns a CodeRateLimited Error when identity or ip has too many
// recent failures, nil otherwise. Call it before verifying a password. It
// counts nothing. An empty identity or ip skips that bucket. A failing
// store lets the attempt through: the guard must not lock everyone out.
func (b *BruteForce) Check(identity, ip string) error {
	ctx := context.Background()
	if identity = normalizeIdentity(identity); identity != "" {
		if limited, retry := b.limited(ctx, b.identities, identity, BruteForceMaxPerIdentity); limited {
			return errTooManyFailures(retry)
		}
	}
	if ip != "" {
		if limited, retry := b.limited(ctx, b.ips, ip, BruteForceMaxPerIP); limited {
			return errTooManyFailures(retry)
		}
	}
	return nil
}

// Fail counts one failed sign-in for identity and ip. Call it after a
// wrong password or an unknown identity, never after a success.
func (b *BruteForce) Fail(identity, ip string) {
	ctx := context.Background()
	if identity = normalizeIdentity(identity); identity != "" {
		b.count(ctx, b.identities, identity, BruteForceMaxPerIdentity)
	}
	if ip != "" {
		b.count(ctx, b.ips, ip, BruteForceMaxPerIP)
	}
}

// Reset forgets identity's failures, after a successful sign-in. The IP's
// failures stay: signing in to one's own account must not clear a count
// run up against others.
func (b *BruteForce) Reset(identity string) {
	if identity = normalizeIdentity(identity); identity == "" {
		return
	}
	if err := b.identities.Reset(context.Background(), identity); err != nil {
		b.logger.Warn("brute-force guard: reset failed", "error", err)
	}
}

func (b *BruteForce) limited(ctx context.Context, c ratelimit.Counter, key string, limit int) (bool, time.Duration) {
	ok, retry, err := c.Peek(ctx, key, limit)
	if err != nil {
		b.logger.Warn("brute-force guard: check failed, letting the attempt through", "error", err)
		return false, 0
	}
	return !ok, retry
}

func (b *BruteForce) count(ctx context.Context, c ratelimit.Counter, key string, limit int) {
	if _, _, err := c.Allow(ctx, key, limit, BruteForceWindow); err != nil {
		b.logger.Warn("brute-force guard: counting a failure failed", "error", err)
	}
}

// normalizeIdentity makes "Admin@Example.com " and "admin@example.com"
// share a bucket, as they share an account. It allocates only for
// identities with upper-case letters.
func normalizeIdentity(identity string) string {
	return strings.ToLower(strings.TrimSpace(identity))
}

// errTooManyFailures is the 429 of a guarded sign-in; retry, the time left
// in the window, is kept as the cause for logs.
func errTooManyFailures(retry time.Duration) error {
	return &Error{
		Code:    CodeRateLimited,
		Message: "Too many failed attempts. Try again later.",
		Err:     &RetryAfterError{After: retry},
	}
}

// RetryAfterError is the cause of a CodeRateLimited Error that knows when
// trying again may succeed; apis turns it into a Retry-After header.
type RetryAfterError struct {
	// After is how long until the limit's window ends.
	After time.Duration
}

func (e *RetryAfterError) Error() string { return "retry after " + e.After.String() }
