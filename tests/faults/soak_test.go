//go:build faults

package faults_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// soakCycles is how many times the soak test stops and starts the server.
const soakCycles = 3

// restartLimit is how soon a restarted server must answer /api/health.
const restartLimit = 2 * time.Second

// soakCycle is how long each cycle of use lasts: HG_SOAK_CYCLE (a Go
// duration), two minutes by default, as issue 14 asks.
func soakCycle(t *testing.T) time.Duration {
	v := os.Getenv("HG_SOAK_CYCLE")
	if v == "" {
		return 2 * time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 5*time.Second {
		t.Fatalf("HG_SOAK_CYCLE=%q: want a duration of at least 5s", v)
	}
	return d
}

// imageServer runs the container image's command line (ENTRYPOINT
// hatchgrid, CMD serve, with the image's HG_DATA_DIR and HG_HTTP) on the
// host: no flags, default log level, embedded job queue.
type imageServer struct {
	*server
	ready time.Duration // from exec to the first 200 of /api/health
}

func startImage(t *testing.T, dir, addr string) *imageServer {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	// The webhook receiver listens on loopback, which the outbound policy
	// (issue 15) refuses to webhooks unless told otherwise: the image's
	// command line plus that one setting.
	cmd.Env = append(withoutHG(os.Environ()), "HG_DATA_DIR="+dir, "HG_HTTP="+addr, "HG_OUTBOUND_WEBHOOKS_PRIVATE=true")
	s := &server{cmd: cmd, url: "http://" + addr, addr: addr, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(s.kill)
	probe := &http.Client{Timeout: time.Second}
	for deadline := start.Add(30 * time.Second); time.Now().Before(deadline); {
		if res, err := probe.Get(s.url + "/api/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return &imageServer{server: s, ready: time.Since(start)}
			}
		}
		select {
		case <-s.done:
			t.Fatalf("serve exited at start: %v\n%s", cmd.ProcessState, s.logs.Tail(40))
		case <-time.After(10 * time.Millisecond):
		}
	}
	// A hung start: the goroutine dump (SIGQUIT) says where.
	cmd.Process.Signal(syscall.SIGQUIT)
	<-s.done
	t.Fatalf("serve did not answer /api/health within 30s of its start; goroutines:\n%s", stuckGoroutines(s.logs.Tail(4000)))
	return nil
}

// stuckGoroutines keeps the goroutines of a dump that run Hatchgrid's code.
func stuckGoroutines(dump string) string {
	var keep []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && strings.Contains(g, "hatchgrid/core") {
			keep = append(keep, g)
		}
	}
	if len(keep) == 0 {
		return dump
	}
	return strings.Join(keep, "\n\n")
}

// withoutHG drops Hatchgrid's variables: the image sets only its own.
func withoutHG(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HG_") {
			out = append(out, kv)
		}
	}
	return out
}

// interrupt sends SIGINT (Ctrl-C, docker stop sends SIGTERM) and waits for
// a clean exit.
func (s *imageServer) interrupt(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("still running a minute after SIGINT\n%s", s.logs.Tail(40))
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, s.logs.Tail(40))
	}
	return time.Since(start)
}

// usage is what a cycle of use did, checked after the restarts.
type usage struct {
	mu      sync.Mutex
	notes   map[string]string // id -> title, for the notes not deleted
	created []string
	signIn  int // successful sign-ins, each from a new device
	errs    []string
}

func (u *usage) fail(format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.errs) < 10 {
		u.errs = append(u.errs, fmt.Sprintf(format, args...))
	}
}

// use drives s for d: password sign-ins from a new device every two
// seconds (each queues a login alert mail job), a note written five times
// a second (each create a webhook job; some updated, some deleted), while
// the cron ticks (automatic backups every minute, the built-in cleanups).
func (u *usage) use(t *testing.T, s *imageServer, cycle int, d time.Duration) {
	t.Helper()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, loop := range []func(*client, int, *atomic.Bool){u.signIns, u.writeNotes} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(newClient(s.server, 30*time.Second), cycle, &stop)
		}()
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && s.alive() {
		time.Sleep(100 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if !s.alive() {
		t.Fatalf("the server died during cycle %d\n%s", cycle, s.logs.Tail(40))
	}
	if len(u.errs) > 0 {
		t.Fatalf("cycle %d: requests failed: %v", cycle, u.errs)
	}
}

// signIns signs the superuser in every two seconds, each time from a new
// device (User-Agent).
func (u *usage) signIns(c *client, cycle int, stop *atomic.Bool) {
	for n := 0; !stop.Load(); n++ {
		req, _ := http.NewRequest("POST", c.url+"/api/collections/_superusers/auth-with-password",
			strings.NewReader(`{"identity":"root@example.com","password":"Secret12345"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", fmt.Sprintf("soak-device/%d.%d", cycle, n))
		res, err := c.hc.Do(req)
		if err != nil || res.StatusCode != 200 {
			u.fail("sign-in: %v %v", err, res)
		} else {
			u.mu.Lock()
			u.signIn++
			u.mu.Unlock()
		}
		if res != nil {
			res.Body.Close()
		}
		time.Sleep(2 * time.Second)
	}
}

// writeNotes creates a note five times a second, edits every fifth and
// deletes every tenth, remembering what was acknowledged.
func (u *usage) writeNotes(c *client, cycle int, stop *atomic.Bool) {
	for n := 0; !stop.Load(); n++ {
		title := fmt.Sprintf("c%d-%d", cycle, n)
		var rec struct{ ID string }
		code, body, err := c.do("POST", "/api/collections/notes/records", `{"title":"`+title+`"}`)
		if err != nil || code != 200 || json.Unmarshal(body, &rec) != nil {
			u.fail("create: %d %v %s", code, err, body)
			continue
		}
		u.mu.Lock()
		u.notes[rec.ID] = title
		u.created = append(u.created, rec.ID)
		u.mu.Unlock()
		switch {
		case n%10 == 9:
			if code, body, err := c.do("DELETE", "/api/collections/notes/records/"+rec.ID, ""); err != nil || code != 204 {
				u.fail("delete: %d %v %s", code, err, body)
			} else {
				u.mu.Lock()
				delete(u.notes, rec.ID)
				u.mu.Unlock()
			}
		case n%5 == 4:
			title += "-edited"
			if code, body, err := c.do("PATCH", "/api/collections/notes/records/"+rec.ID, `{"title":"`+title+`"}`); err != nil || code != 200 {
				u.fail("update: %d %v %s", code, err, body)
			} else {
				u.mu.Lock()
				u.notes[rec.ID] = title
				u.mu.Unlock()
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSoakRestarts is a scripted soak of the default single-machine
// mode, as the container image runs it: soakCycles times, HG_SOAK_CYCLE
// (two minutes) of use, then SIGINT and a new start on the same data dir.
// Every restart must answer /api/health within restartLimit, with every
// acknowledged write in place, and every webhook job delivered.
func TestSoakRestarts(t *testing.T) {
	cycle := soakCycle(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	rc := &receiver{seen: map[string]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	s := startImage(t, dir, addr)
	admin := newClient(s.server, 30*time.Second)
	superuser(t, s.server, dir, []string{"HG_DATA_DIR=" + dir}, admin)
	admin.must(t, "POST", "/api/collections", `{"name":"notes","type":"base","listRule":"","viewRule":"","createRule":"",
		"updateRule":"","deleteRule":"","fields":[{"name":"title","type":"text"}]}`, 200, nil)
	admin.must(t, "POST", "/api/hg/webhooks", `{"collection":"notes","events":["create"],"url":"`+hook.URL+`","secret":"soak"}`, 200, nil)
	admin.must(t, "PATCH", "/api/settings", `{"backups":{"cron":"* * * * *","cronMaxKeep":2}}`, 200, nil)

	u := &usage{notes: map[string]string{}}
	autoBackups := map[string]bool{}
	for c := 1; c <= soakCycles; c++ {
		start := time.Now()
		u.use(t, s, c, cycle)
		var list []struct{ Key string }
		admin.url = s.url
		admin.must(t, "GET", "/api/backups", "", 200, &list)
		for _, b := range list {
			if strings.HasPrefix(b.Key, "@auto_") {
				autoBackups[b.Key] = true
			}
		}
		stopped := s.interrupt(t)
		snapshot, _ := os.Stat(filepath.Join(dir, "jobs.snapshot"))
		size := int64(0)
		if snapshot != nil {
			size = snapshot.Size()
		}

		t.Logf("cycle %d: %s of use: %d sign-ins from new devices, %d notes written, %d webhook deliveries so far, %d automatic backups so far; "+
			"stopped by SIGINT in %s (jobs.snapshot %d bytes)",
			c, time.Since(start).Round(time.Second), u.signIn, len(u.created), rc.totalDeliveries(), len(autoBackups),
			stopped.Round(time.Millisecond), size)
		s = startImage(t, dir, addr)
		t.Logf("restart %d served in %s", c, s.ready.Round(time.Millisecond))
		if s.ready > restartLimit {
			t.Errorf("restart %d took %s to serve, want under %s", c, s.ready.Round(time.Millisecond), restartLimit)
		}
		checkNotes(t, admin, s, u)
	}
	if cycle >= 70*time.Second && len(autoBackups) == 0 {
		t.Errorf("no automatic backup in %d cycles of %s: the cron did not tick", soakCycles, cycle)
	}
	awaitAllDelivered(t, rc, u)
	s.interrupt(t)
}

// checkNotes checks that every acknowledged write is there after a restart.
func checkNotes(t *testing.T, admin *client, s *imageServer, u *usage) {
	t.Helper()
	admin.url = s.url
	var page struct {
		TotalItems int
		Items      []struct{ ID, Title string }
	}
	got := map[string]string{}
	for p := 1; ; p++ {
		admin.must(t, "GET", fmt.Sprintf("/api/collections/notes/records?perPage=1000&page=%d&sort=id", p), "", 200, &page)
		for _, it := range page.Items {
			got[it.ID] = it.Title
		}
		if len(page.Items) < 1000 {
			break
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(got) != len(u.notes) {
		t.Errorf("%d notes after the restart, %d acknowledged and not deleted", len(got), len(u.notes))
	}
	for id, title := range u.notes {
		if got[id] != title {
			t.Errorf("note %s is %q after the restart, want %q", id, got[id], title)
			return
		}
	}
}

// awaitAllDelivered waits until every acknowledged create got its webhook.
func awaitAllDelivered(t *testing.T, rc *receiver, u *usage) {
	t.Helper()
	u.mu.Lock()
	want := append([]string(nil), u.created...)
	u.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, total := rc.delivered(want)
		if got == len(want) {
			t.Logf("webhooks: all %d creates delivered (%d deliveries)", got, total)
			return
		}
		if time.Now().After(deadline) {
			missing := rc.missing(want)
			t.Fatalf("webhooks: %d of %d creates delivered a minute after the last restart; missing e.g. %v",
				got, len(want), missing[:min(5, len(missing))])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (rc *receiver) totalDeliveries() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.total
}
