package core

import (
	"context"
	"log/slog"
	"time"
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
//
// The counts live where the request rate limits count (App.guardStore):
// in Redis when redis.url is set, so that every instance of a cluster
// sees every failure, and in the process otherwise.
type BruteForce struct {
	identities, ips guardBucket
	logger          *slog.Logger
}

// newBruteForce counts in the App's guard store, on its clock.
func newBruteForce(a *App) *BruteForce {
	return &BruteForce{
		identities: guardBucket{a, "signin-identity"},
		ips:        guardBucket{a, "signin-ip"},
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

func (b *BruteForce) limited(ctx context.Context, c guardBucket, key string, limit int) (bool, time.Duration) {
	ok, retry, err := c.Peek(ctx, key, limit)
	if err != nil {
		b.logger.Warn("brute-force guard: check failed, letting the attempt through", "error", err)
		return false, 0
	}
	return !ok, retry
}

func (b *BruteForce) count(ctx context.Context, c guardBucket, key string, limit int) {
	if _, _, err := c.Allow(ctx, key, limit, BruteForceWindow); err != nil {
		b.logger.Warn("brute-force guard: counting a failure failed", "error", err)
	}
}

// normalizeIdentity is identityKey: the guard counts an identity under
// the very value the sign-in lookup compares, so that spellings which
// find the same account ("Admin@Example.com", "admin@example.com\x00")
// share one bucket instead of each getting its own tries.
func normalizeIdentity(identity string) string { return identityKey(identity) }

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
