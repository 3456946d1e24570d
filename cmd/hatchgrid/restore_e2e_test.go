package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/datadir"
)

// restoreSetup starts a server with a notes collection, note A, a backup
// of that and then note B: after the backup's restore A is there and B is
// not.
func restoreSetup(t *testing.T) (s *server, dir, token, a, b string) {
	t.Helper()
	coretest.RequireDialect(t, "sqlite") // backups are SQLite's
	dir = filepath.Join(t.TempDir(), "data")
	s = startServer(t, dir, nil)
	token = signIn(t, s, dir, nil)
	mustCall(t, s, "POST", "/api/collections", `{"name":"notes","type":"base","listRule":"","viewRule":"","createRule":"",
		"fields":[{"name":"title","type":"text"}]}`, token)
	note := func(title string) string {
		var rec struct{ ID string }
		json.Unmarshal([]byte(mustCall(t, s, "POST", "/api/collections/notes/records", `{"title":"`+title+`"}`, token)), &rec)
		return rec.ID
	}
	a = note("A")
	mustCall(t, s, "POST", "/api/backups", `{"name":"snap.zip"}`, token)
	b = note("B")
	return s, dir, token, a, b
}

// poll is a client asking for /api/health every 20ms, each time on a new
// connection, as a monitor or a load balancer would.
type poll struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	n    int
	max  time.Duration
	errs []string
}

func startPoll(url string) *poll {
	p := &poll{stop: make(chan struct{})}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				start := time.Now()
				res, err := client.Get(url + "/api/health")
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				p.n++
				p.max = max(p.max, time.Since(start))
				if err != nil {
					p.errs = append(p.errs, err.Error())
				}
			}()
		}
	}()
	return p
}

func (p *poll) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// await waits until n polls have been answered.
func (p *poll) await(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for p.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d polls answered in a minute", p.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *poll) finish() (n int, slowest time.Duration, errs []string) {
	close(p.stop)
	p.wg.Wait()
	return p.n, p.max, p.errs
}

// restored waits until s serves the backup's data: note B is gone.
func restored(t *testing.T, s *server, b string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(s.url + "/api/collections/notes/records/" + b)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusNotFound {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the backup's data is not served within a minute\n%s", s.stderr.String())
}

// TestBackupRestoreNeverRefusesAConnection: while a restore re-executes
// the server, a client polling /api/health every 20ms on new connections
// gets slow answers, never a refused connection or another error.
func TestBackupRestoreNeverRefusesAConnection(t *testing.T) {
	t.Parallel()
	s, dir, token, a, b := restoreSetup(t)
	p := startPoll(s.url)
	p.await(t, 5) // a few answers before the restore, as a baseline
	// The data dir stays locked by the server's pid all along: no other
	// process could take it while the restart runs.
	lockLost := make(chan string, 1)
	stopWatch := make(chan struct{})
	watched := make(chan int)
	go func() {
		n := 0
		defer func() { watched <- n }()
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			if h, held, err := datadir.Current(dir); err != nil || !held || h.PID != s.cmd.Process.Pid {
				select {
				case lockLost <- fmt.Sprintf("held=%v by %+v (%v)", held, h, err):
				default:
				}
			}
			n++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	mustCall(t, s, "POST", "/api/backups/snap.zip/restore", "", token)
	restored(t, s, b)
	p.await(t, p.count()+5) // and a few after
	close(stopWatch)
	checks := <-watched
	n, slowest, errs := p.finish()
	select {
	case lost := <-lockLost:
		t.Fatalf("the data dir lock was not the server's during the restart: %s", lost)
	default:
	}
	t.Logf("data dir lock checked %d times during the restore: always held by pid %d", checks, s.cmd.Process.Pid)

	t.Logf("%d polls during the restore, slowest %s, %d errors", n, slowest.Round(time.Millisecond), len(errs))
	if len(errs) > 0 {
		t.Fatalf("%d of %d polls failed, e.g. %v", len(errs), n, errs[:min(len(errs), 5)])
	}
	if !strings.Contains(s.stderr.String(), "restarted: took over the listening socket") {
		t.Fatalf("the process did not restart on the inherited socket\n%s", s.stderr.String())
	}
	select {
	case err := <-s.done:
		t.Fatalf("the server process exited (%v): the restart must keep its pid", err)
	default:
	}
	mustCall(t, s, "GET", "/api/collections/notes/records/"+a, "", "")
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit %d after the restore", code)
	}
}

// TestSignalDuringRestore: SIGTERM while a restore stops the server, and
// while the re-executed process starts, stops the server for good within
// seconds; the restore's files are in place for the next start.
func TestSignalDuringRestore(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"restoring a backup: stopping the server", "restarted: took over the listening socket"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			s, dir, token, a, b := restoreSetup(t)
			mustCall(t, s, "POST", "/api/backups/snap.zip/restore", "", token)
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(s.stderr.String(), at) {
				if time.Now().After(deadline) {
					t.Fatalf("no %q in the log\n%s", at, s.stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			s.cmd.Process.Signal(syscall.SIGTERM)
			start := time.Now()
			var err error
			select {
			case err = <-s.done:
			case <-time.After(15 * time.Second):
				t.Fatalf("still running 15s after SIGTERM\n%s", s.stderr.String())
			}
			took := time.Since(start)
			// Exit 0; or, if the signal came in the few milliseconds
			// between the old process letting go of its signal handler
			// and the new one installing its own, the default action of
			// SIGTERM: the process ends all the same.
			var ee *exec.ExitError
			killed := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM
			if code := s.cmd.ProcessState.ExitCode(); code != 0 && !killed {
				t.Fatalf("exit %d (%v) after SIGTERM\n%s", code, err, s.stderr.String())
			}
			t.Logf("SIGTERM at %q: stopped after %s (%v)", at, took.Round(time.Millisecond), s.cmd.ProcessState)
			lockFree(t, dir)
			if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.url, "http://"), time.Second); err == nil {
				c.Close()
				t.Fatal("the port still accepts connections after the server stopped")
			}

			again := startServer(t, dir, nil)
			if code, _ := call(t, again, "GET", "/api/collections/notes/records/"+b, "", ""); code != http.StatusNotFound {
				t.Fatalf("note B after the interrupted restore: %d, want 404 (the backup's data)", code)
			}
			mustCall(t, again, "GET", "/api/collections/notes/records/"+a, "", "")
			again.stop(t)
		})
	}
}
