package core_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// bruteForceApp returns an App whose clock the test moves.
func bruteForceApp(t *testing.T) (*core.App, func(time.Duration)) {
	t.Helper()
	var now atomic.Int64
	now.Store(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).UnixNano())
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithClock(func() time.Time { return time.Unix(0, now.Load()) })))
	return app, func(d time.Duration) { now.Add(int64(d)) }
}

func assertTooManyFailures(t *testing.T, err error) {
	t.Helper()
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != core.CodeRateLimited || ce.Message != "Too many failed attempts. Try again later." {
		t.Fatalf("err = %v, want the rate_limited Error", err)
	}
}

func TestBruteForcePerIdentity(t *testing.T) {
	t.Parallel()
	app, advance := bruteForceApp(t)
	bf := app.BruteForce()

	for i := range core.BruteForceMaxPerIdentity {
		if err := bf.Check("victim@example.com", "198.51.100.1"); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		bf.Fail("victim@example.com", "198.51.100.1")
		advance(time.Second)
	}
	err := bf.Check("victim@example.com", "198.51.100.1")
	assertTooManyFailures(t, err)
	var ra *core.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 50*time.Second {
		t.Fatalf("retry after = %v, want 50s", ra)
	}
	// The identity is limited from anywhere, whatever its case, with or
	// without the NUL bytes that the sign-in lookup drops.
	assertTooManyFailures(t, bf.Check("Victim@Example.com", "203.0.113.9"))
	assertTooManyFailures(t, bf.Check("vic\x00tim@example.COM\x00", "203.0.113.9"))
	// Other identities, from the same IP too, are not.
	if err := bf.Check("other@example.com", "198.51.100.1"); err != nil {
		t.Fatalf("other identity refused: %v", err)
	}
	// Checks count nothing: many of them leave other identities alone.
	for range 100 {
		_ = bf.Check("busy@example.com", "198.51.100.1")
	}
	if err := bf.Check("busy@example.com", "198.51.100.1"); err != nil {
		t.Fatalf("checks were counted: %v", err)
	}

	advance(49 * time.Second)
	assertTooManyFailures(t, bf.Check("victim@example.com", "198.51.100.1"))
	advance(time.Second)
	if err := bf.Check("victim@example.com", "198.51.100.1"); err != nil {
		t.Fatalf("still refused after the window: %v", err)
	}
}

func TestBruteForceFailuresWhileLimitedDoNotExtendTheWindow(t *testing.T) {
	t.Parallel()
	app, advance := bruteForceApp(t)
	bf := app.BruteForce()
	for range core.BruteForceMaxPerIdentity {
		bf.Fail("a@example.com", "")
	}
	for range 5 {
		advance(10 * time.Second)
		bf.Fail("a@example.com", "")
	}
	assertTooManyFailures(t, bf.Check("a@example.com", ""))
	advance(10 * time.Second)
	if err := bf.Check("a@example.com", ""); err != nil {
		t.Fatalf("refused after the window: %v", err)
	}
}

func TestBruteForcePerIP(t *testing.T) {
	t.Parallel()
	app, advance := bruteForceApp(t)
	bf := app.BruteForce()
	const ip = "2001:db8::7"

	// Spread over many identities, none of them reaches its own limit.
	for i := range core.BruteForceMaxPerIP {
		identity := fmt.Sprintf("user%d@example.com", i%5)
		if err := bf.Check(identity, ip); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		bf.Fail(identity, ip)
	}
	assertTooManyFailures(t, bf.Check("fresh@example.com", ip))
	if err := bf.Check("fresh@example.com", "2001:db8::8"); err != nil {
		t.Fatalf("another IP refused: %v", err)
	}

	advance(core.BruteForceWindow)
	if err := bf.Check("fresh@example.com", ip); err != nil {
		t.Fatalf("refused after the window: %v", err)
	}
}

func TestBruteForceReset(t *testing.T) {
	t.Parallel()
	app, _ := bruteForceApp(t)
	bf := app.BruteForce()
	for range core.BruteForceMaxPerIdentity - 1 {
		bf.Fail("a@example.com", "192.0.2.1")
	}
	// A success resets the identity, so earlier typos do not add up...
	bf.Reset("A@example.com")
	for range core.BruteForceMaxPerIdentity - 1 {
		bf.Fail("a@example.com", "192.0.2.1")
	}
	if err := bf.Check("a@example.com", "192.0.2.1"); err != nil {
		t.Fatalf("refused after a reset: %v", err)
	}
	// ...but not the IP's count, which other identities ran up too.
	for range core.BruteForceMaxPerIP - 2*(core.BruteForceMaxPerIdentity-1) {
		bf.Fail("b@example.com", "192.0.2.1")
	}
	bf.Reset("a@example.com")
	assertTooManyFailures(t, bf.Check("a@example.com", "192.0.2.1"))
}

func BenchmarkBruteForceCheck(b *testing.B) {
	app := coretest.NewApp(b)
	bf := app.BruteForce()
	bf.Fail("someone@example.com", "192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		if err := bf.Check("someone@example.com", "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}
