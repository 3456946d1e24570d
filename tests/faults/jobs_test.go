//go:build faults

package faults_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/jobjournal"
)

var jobNode struct {
	once sync.Once
	bin  string
	err  error
}

// buildJobNode builds tests/faults/jobnode once: hatchgrid plus a route
// that enqueues a job and a job that records that it ran.
func buildJobNode(t *testing.T) string {
	t.Helper()
	jobNode.once.Do(func() {
		dir, err := os.MkdirTemp("", "hatchgrid-jobnode")
		if err != nil {
			jobNode.err = err
			return
		}
		jobNode.bin = filepath.Join(dir, "jobnode")
		start := time.Now()
		build := exec.Command("go", "build", "-o", jobNode.bin, "github.com/hatchgrid/hatchgrid/tests/faults/jobnode")
		if out, err := build.CombinedOutput(); err != nil {
			jobNode.err = fmt.Errorf("build jobnode: %v\n%s", err, out)
			return
		}
		fmt.Printf("faults: built jobnode in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if jobNode.err != nil {
		t.Fatal(jobNode.err)
	}
	return jobNode.bin
}

// enqueueStream is writers goroutines calling POST /api/test/enqueue as
// fast as the server answers, remembering the ids it acknowledged.
type enqueueStream struct {
	mu     sync.Mutex
	acked  []string
	count  atomic.Int64
	bad    atomic.Int64
	first  atomic.Value
	killed atomic.Bool
	wg     sync.WaitGroup
}

func startEnqueues(s *server, delay time.Duration) *enqueueStream {
	es := &enqueueStream{}
	for range writers {
		es.wg.Add(1)
		go func() {
			defer es.wg.Done()
			c := newClient(s, 10*time.Second)
			for {
				code, body, err := c.do("POST", "/api/test/enqueue?delay="+delay.String(), "")
				var res struct{ ID string }
				switch {
				case err != nil && es.killed.Load():
					return
				case code == 200 && json.Unmarshal(body, &res) == nil && res.ID != "":
					es.mu.Lock()
					es.acked = append(es.acked, res.ID)
					es.mu.Unlock()
					es.count.Add(1)
				default:
					es.bad.Add(1)
					es.first.CompareAndSwap(nil, fmt.Sprintf("%d %v %s", code, err, body))
					return
				}
			}
		}()
	}
	return es
}

// kill kills s with SIGKILL 1 to 1.5 s into the stream (and after at least
// 200 acknowledged enqueues), then waits for the writers.
func (es *enqueueStream) kill(t *testing.T, s *server) {
	t.Helper()
	start := time.Now()
	after := time.Second + rand.N(500*time.Millisecond)
	for (time.Since(start) < after || es.count.Load() < 200) && es.bad.Load() == 0 && time.Since(start) < 30*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	es.killed.Store(true)
	s.kill()
	es.wg.Wait()
	if es.bad.Load() > 0 {
		t.Fatalf("%d enqueues failed before the kill; first: %v", es.bad.Load(), es.first.Load())
	}
	if n := es.count.Load(); n < 200 {
		t.Fatalf("only %d enqueues acknowledged before the kill", n)
	}
}

// ranIDs reads <dir>/ran.log: how many times each job ran.
func ranIDs(t *testing.T, dir string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "ran.log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	ran := map[string]int{}
	for _, id := range strings.Fields(string(data)) {
		ran[id]++
	}
	return ran
}

// waitAllRan waits until every acknowledged job has run, and fails the
// test with the figures if some never do.
func waitAllRan(t *testing.T, dir string, acked []string, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ran := ranIDs(t, dir)
		missing := 0
		var example string
		for _, id := range acked {
			if ran[id] == 0 {
				missing++
				example = id
			}
		}
		if missing == 0 {
			again := 0
			for _, n := range ran {
				if n > 1 {
					again++
				}
			}
			t.Logf("%s: acknowledged=%d ran=%d (jobs run more than once: %d)", what, len(acked), len(ran), again)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d acknowledged jobs never ran after the restart (e.g. %s); %d ran", what, missing, len(acked), example, len(ran))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// jobEnv is the environment of the job tests' servers: embedded mode
// (no Redis), a save every second so the journal is compacted during the
// stream, fast polling.
func jobEnv() []string {
	return []string{"HG_JOBS_SNAPSHOT_INTERVAL=1s", "HG_JOBS_POLL_INTERVAL=100ms", "HG_REDIS_URL="}
}

// TestKill9DuringEnqueues: a stream of enqueues, each acknowledged by an
// HTTP answer, kill -9 mid-stream, restart on the same data dir: every
// acknowledged job runs at least once. The jobs wait 3 s before they may
// run, so at the kill they are only in the queue: nothing but the journal
// (and the saves of the first second) keeps them.
func TestKill9DuringEnqueues(t *testing.T) {
	bin := buildJobNode(t)
	dir := filepath.Join(t.TempDir(), "data")
	s := startBinary(t, bin, dir, jobEnv())
	es := startEnqueues(s, 3*time.Second)
	es.kill(t, s)
	if ran := ranIDs(t, dir); len(ran) > 0 {
		t.Fatalf("%d jobs ran before the kill: the test would not show what the queue kept", len(ran))
	}
	startBinary(t, bin, dir, jobEnv())
	waitAllRan(t, dir, es.acked, "kill -9")
}

// TestPowerCutKeepsAcknowledgedJobs: as TestKill9DuringEnqueues, but
// before the restart the journal loses everything after the last
// acknowledged job's record, as a power cut loses what was not fsync'd
// (Enqueue answers only once its record is fsync'd, so nothing before it
// can be lost): every acknowledged job still runs.
func TestPowerCutKeepsAcknowledgedJobs(t *testing.T) {
	bin := buildJobNode(t)
	dir := filepath.Join(t.TempDir(), "data")
	s := startBinary(t, bin, dir, jobEnv())
	es := startEnqueues(s, 3*time.Second)
	es.kill(t, s)

	acked := map[string]bool{}
	for _, id := range es.acked {
		acked[id] = true
	}
	segs, err := jobjournal.Segments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("no journal segments (%v)", err)
	}
	cutSeg, cutAt := -1, int64(0)
	total := 0
	for i, seg := range segs {
		if _, err := jobjournal.ReadSegment(seg.Path, func(r jobjournal.Record) error {
			total++
			if r.Kind == jobjournal.Enqueue && acked[r.ID] {
				cutSeg, cutAt = i, r.End
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	dropped := 0
	if cutSeg >= 0 {
		fi, err := os.Stat(segs[cutSeg].Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(segs[cutSeg].Path, cutAt); err != nil {
			t.Fatal(err)
		}
		dropped = int(fi.Size() - cutAt)
		for _, seg := range segs[cutSeg+1:] {
			if fi, err := os.Stat(seg.Path); err == nil {
				dropped += int(fi.Size())
			}
			os.Remove(seg.Path)
		}
	}
	t.Logf("journal: %d segments, %d records; cut after the last acknowledged record, %d bytes dropped", len(segs), total, dropped)

	startBinary(t, bin, dir, jobEnv())
	waitAllRan(t, dir, es.acked, "power cut")
}
