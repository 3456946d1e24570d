//go:build faults

package faults_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sample is one request of a load generator.
type sample struct {
	start, end time.Time
	code       int
	err        error
}

// loadGen runs goroutines that call next(worker, i) until stopped and
// keeps every sample.
type loadGen struct {
	stop    atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []sample
}

func startLoad(workers int, next func(w, i int) (int, error)) *loadGen {
	l := &loadGen{}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			var mine []sample
			for i := 0; !l.stop.Load(); i++ {
				s := sample{start: time.Now()}
				s.code, s.err = next(w, i)
				s.end = time.Now()
				mine = append(mine, s)
			}
			l.mu.Lock()
			l.samples = append(l.samples, mine...)
			l.mu.Unlock()
		}()
	}
	return l
}

// Stop ends the load and returns its samples.
func (l *loadGen) Stop() []sample {
	l.stop.Store(true)
	l.wg.Wait()
	return l.samples
}

// pgOutage and statementTimeout: how long the private PostgreSQL stays
// down, and the serve setting that bounds a request's wait on it.
const (
	pgOutage         = 3 * time.Second
	statementTimeout = 3 * time.Second
)

// TestPostgresRestartUnderLoad stops a private PostgreSQL (fast shutdown)
// under load for pgOutage and starts it again: every request sent while it
// is down gets a 503 quickly (none waits past statementTimeout), and serve,
// never restarted, answers 200 again within seconds of PostgreSQL's return.
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg := newPGCluster(t)
	env := []string{"HG_DATABASE_URL=" + pg.URL(), "HG_DATABASE_STATEMENT_TIMEOUT=" + statementTimeout.String()}
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, env)
	admin := newClient(s, 10*time.Second)
	superuser(t, s, dir, env, admin)
	admin.must(t, "POST", "/api/collections", `{"name":"posts","type":"base","createRule":"","listRule":"","viewRule":"",
		"fields":[{"name":"title","type":"text"}]}`, 200, nil)

	// Guests create and list; a hang shows as a client timeout (an error).
	clients := make([]*client, 4)
	for i := range clients {
		clients[i] = newClient(s, 4*statementTimeout)
	}
	load := startLoad(len(clients), func(w, i int) (int, error) {
		c := clients[w]
		if i%2 == 0 {
			code, _, err := c.do("POST", "/api/collections/posts/records", fmt.Sprintf(`{"title":"w%d-%d"}`, w, i))
			return code, err
		}
		code, _, err := c.do("GET", "/api/collections/posts/records?perPage=5&skipTotal=1", "")
		return code, err
	})
	time.Sleep(time.Second)
	pg.Stop()
	down := time.Now()
	time.Sleep(pgOutage / 2)
	guest := newClient(s, 10*time.Second)
	if code, body, err := guest.do("GET", "/api/health", ""); err != nil || code != 503 {
		t.Errorf("health with PostgreSQL down: %d %v %s, want 503", code, err, body)
	}
	time.Sleep(pgOutage / 2)
	upBegin := time.Now()
	pg.Start()
	up := time.Now()

	// Wait for recovery, then keep the load on a little longer to see it
	// holds.
	var recovered time.Time
	for deadline := up.Add(15 * time.Second); recovered.IsZero() && time.Now().Before(deadline); {
		if code, _, err := guest.do("GET", "/api/collections/posts/records?perPage=1", ""); err == nil && code == 200 {
			recovered = time.Now()
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if recovered.IsZero() {
		load.Stop()
		t.Fatalf("serve did not recover within 15s of PostgreSQL's return")
	}
	time.Sleep(1500 * time.Millisecond)
	samples := load.Stop()
	checkRestartSamples(t, samples, down, upBegin, up, recovered)
	if !s.alive() {
		t.Fatal("serve exited during the outage")
	}
	admin.must(t, "GET", "/api/health", "", 200, nil)
}

// checkRestartSamples checks and prints what the load saw around the
// outage [down, upBegin]; PostgreSQL accepted connections again at up and
// serve answered a request at recovered.
func checkRestartSamples(t *testing.T, samples []sample, down, upBegin, up, recovered time.Time) {
	t.Helper()
	var before, outage, outage503, after, afterOK, other int
	var maxLatency, maxOutage time.Duration
	var firstOther string
	stable := recovered.Add(500 * time.Millisecond)
	for _, s := range samples {
		d := s.end.Sub(s.start)
		maxLatency = max(maxLatency, d)
		switch {
		case s.err != nil || (s.code != 200 && s.code != 503):
			other++
			if firstOther == "" {
				firstOther = fmt.Sprintf("%d %v after %s", s.code, s.err, d)
			}
		case s.start.After(down) && s.end.Before(upBegin):
			outage++
			maxOutage = max(maxOutage, d)
			if s.code == 503 {
				outage503++
			}
		case s.end.Before(down):
			before++
		case s.start.After(stable):
			after++
			if s.code == 200 {
				afterOK++
			}
		}
	}
	t.Logf("postgres restart: %d requests; before the stop %d; during the %s outage %d, of which 503: %d (max latency %s); "+
		"serve answered 200 again %s after PostgreSQL accepted connections (no restart of serve); after: %d, of which 200: %d; "+
		"max latency overall %s (bound: statement timeout %s); other outcomes %d",
		len(samples), before, upBegin.Sub(down).Round(time.Millisecond), outage, outage503, maxOutage.Round(time.Millisecond),
		recovered.Sub(up).Round(time.Millisecond), after, afterOK, maxLatency.Round(time.Millisecond), statementTimeout, other)
	if other > 0 {
		t.Errorf("%d requests got neither 200 nor 503 (errors, timeouts or other statuses); first: %s", other, firstOther)
	}
	if before == 0 || outage == 0 || after == 0 {
		t.Errorf("the load did not cover every phase: before %d, outage %d, after %d", before, outage, after)
	}
	if outage503 != outage {
		t.Errorf("%d of %d requests during the outage were not 503", outage-outage503, outage)
	}
	if afterOK != after {
		t.Errorf("%d of %d requests after recovery failed", after-afterOK, after)
	}
	if maxLatency >= statementTimeout {
		t.Errorf("a request took %s, past the statement timeout %s", maxLatency, statementTimeout)
	}
	if d := recovered.Sub(up); d > 5*time.Second {
		t.Errorf("serve took %s to recover after PostgreSQL returned", d)
	}
}
