//go:build faults

package faults_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestKill9DuringCreates runs concurrent writers against serve, kills the
// process with SIGKILL while they are writing, restarts it on the same data
// and checks that every create that was answered 200 is there, on SQLite
// and on PostgreSQL (a fresh schema of the shared server).
func TestKill9DuringCreates(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			var env []string
			if dialect == "postgres" {
				env = []string{"HG_DATABASE_URL=" + postgresSchema(t)}
			}
			killDuringCreates(t, dialect, env)
		})
	}
}

// postgresSchema is a fresh schema on the shared PostgreSQL; coretest fails
// the test when it is unreachable and CI=true, and skips it loudly
// otherwise.
func postgresSchema(t *testing.T) string {
	return coretest.NewPostgresSchema(t)
}

// writers is how many goroutines create records at once.
const writers = 8

// createStream is writers goroutines creating records as fast as serve
// answers, each remembering the ids answered 200. A writer stops at its
// first failure: after the kill that is the request the kill cut off (at
// most one per writer), before it a failure of the test.
type createStream struct {
	acked    [writers][]string
	count    atomic.Int64
	cut      atomic.Int64
	bad      atomic.Int64
	firstBad atomic.Value
	killed   atomic.Bool
	wg       sync.WaitGroup
}

func startCreates(s *server) *createStream {
	cs := &createStream{}
	for w := range writers {
		cs.wg.Add(1)
		go func() {
			defer cs.wg.Done()
			c := newClient(s, 10*time.Second)
			for i := 0; ; i++ {
				code, body, err := c.do("POST", "/api/collections/posts/records", fmt.Sprintf(`{"title":"w%d-%d","n":%d}`, w, i, i))
				var rec struct{ ID string }
				switch {
				case err != nil && cs.killed.Load():
					cs.cut.Add(1)
					return
				case code == 200 && json.Unmarshal(body, &rec) == nil && rec.ID != "":
					cs.acked[w] = append(cs.acked[w], rec.ID)
					cs.count.Add(1)
				default:
					cs.bad.Add(1)
					cs.firstBad.CompareAndSwap(nil, fmt.Sprintf("%d %v %s", code, err, body))
					return
				}
			}
		}()
	}
	return cs
}

// kill kills s at a random point once the stream of creates is well under
// way (1 to 1.5s in, and at least 100 creates acknowledged), and waits for
// the writers to stop.
func (cs *createStream) kill(t *testing.T, s *server) time.Duration {
	t.Helper()
	start := time.Now()
	killAfter := time.Second + rand.N(500*time.Millisecond)
	for (time.Since(start) < killAfter || cs.count.Load() < 100) && cs.bad.Load() == 0 && time.Since(start) < 20*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	cs.killed.Store(true)
	s.kill()
	killedAt := time.Since(start)
	cs.wg.Wait()
	if cs.bad.Load() > 0 {
		t.Fatalf("%d creates failed before the kill; first: %v", cs.bad.Load(), cs.firstBad.Load())
	}
	if n := cs.count.Load(); n < 100 {
		t.Fatalf("only %d creates acknowledged in %s before the kill", n, killedAt)
	}
	return killedAt
}

// found counts the acknowledged ids in ids and lists a few missing ones.
func (cs *createStream) found(ids map[string]bool) (found int, missing []string) {
	for _, list := range cs.acked {
		for _, id := range list {
			if ids[id] {
				found++
			} else if len(missing) < 5 {
				missing = append(missing, id)
			}
		}
	}
	return found, missing
}

func killDuringCreates(t *testing.T, dialect string, env []string) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, env)
	admin := newClient(s, 10*time.Second)
	superuser(t, s, dir, env, admin)
	admin.must(t, "POST", "/api/collections", `{"name":"posts","type":"base","createRule":"",
		"fields":[{"name":"title","type":"text"},{"name":"n","type":"number"}]}`, 200, nil)

	cs := startCreates(s)
	killedAt := cs.kill(t, s)
	total, cut := int(cs.count.Load()), int(cs.cut.Load())

	again := startServer(t, dir, env)
	after := newClient(again, 30*time.Second)
	after.token = admin.token
	ids := listIDs(t, after, "posts")
	found, missing := cs.found(ids)
	t.Logf("%s: acknowledged=%d found=%d (rows after restart %d; %d writers cut off by the kill; killed %s into the stream, %d writers)",
		dialect, total, found, len(ids), cut, killedAt.Round(time.Millisecond), writers)
	if found != total {
		t.Fatalf("%s: %d acknowledged creates lost after kill -9, e.g. %v", dialect, total-found, missing)
	}
	// Rows beyond the acknowledged ones can only be the requests in flight.
	if extra := len(ids) - total; extra < 0 || extra > cut {
		t.Fatalf("%s: %d rows beyond the acknowledged, but only %d requests were in flight", dialect, extra, cut)
	}
	after.must(t, "POST", "/api/collections/posts/records", `{"title":"after restart"}`, 200, nil)
}
