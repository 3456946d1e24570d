package coretest

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds and fails t if it still does not
// once timeout has passed; what names the awaited state in that failure.
// Work that finishes in the background (queues, realtime, clusters, mail
// sent after a response) is awaited this way rather than with a fixed
// sleep: the test waits no longer than it must, and a slow machine only
// costs time up to the timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("coretest: timed out after %s waiting for %s", timeout, what)
	}
}

// Poll reports whether cond holds within timeout, checking at once and
// then at short, growing intervals (5ms up to 50ms). Tests use Eventually;
// Poll is for the few that must go on, or report more, when it fails.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	wait := 5 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}
