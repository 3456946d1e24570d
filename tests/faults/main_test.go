//go:build faults

package faults_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the hatchgrid binary every test runs.
var binary string

// HG_FAULTS_BIN names an already built binary (make test-faults passes
// the one `make build` made); without it TestMain builds one.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	binary = os.Getenv("HG_FAULTS_BIN")
	if binary != "" {
		abs, err := filepath.Abs(binary)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		binary = abs
		fmt.Printf("faults: running %s\n", binary)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hatchgrid-faults-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "hatchgrid")
	start := time.Now()
	build := exec.Command("go", "build", "-o", binary, "github.com/hatchgrid/hatchgrid/cmd/hatchgrid")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		return 1
	}
	fmt.Printf("faults: built %s in %s\n", binary, time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// need reports a missing tool or service: the test fails when CI=true
// (CI must run every fault test) and is skipped with one loud line
// otherwise.
func need(t *testing.T, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("faults: %s: %v", what, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, "!!! "+msg+" -- SKIPPING")
	t.Skip(msg)
}

// server is one running `hatchgrid serve`.
type server struct {
	cmd  *exec.Cmd
	url  string
	addr string
	logs *syncBuffer
	done chan struct{}
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Tail is the last n lines written.
func (s *syncBuffer) Tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(strings.TrimRight(s.b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer runs serve on dir with env (added to the environment; logs
// at warn unless env says otherwise) and waits until /api/health answers.
func startServer(t *testing.T, dir string, env []string) *server {
	t.Helper()
	return startBinary(t, binary, dir, env)
}

// startBinary is startServer with another binary built on hatchgrid.
func startBinary(t *testing.T, bin, dir string, env []string) *server {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "serve", "--dir", dir, "--http", addr)
	// The tests' webhook receivers listen on loopback, which the outbound
	// policy refuses to webhooks unless told otherwise.
	cmd.Env = append(append(os.Environ(), "HG_LOG_LEVEL=warn", "HG_OUTBOUND_WEBHOOKS_PRIVATE=true"), env...)
	s := &server{cmd: cmd, url: "http://" + addr, addr: addr, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("server %s output (tail):\n%s", addr, s.logs.Tail(40))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(s.url + "/api/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("server exited at start: %v\n%s", cmd.ProcessState, s.logs.Tail(40))
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("server did not become healthy in 30s\n%s", s.logs.Tail(40))
	return nil
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// client calls the API of a server, as a superuser when token is set.
type client struct {
	url   string
	token string
	hc    *http.Client
}

func newClient(s *server, timeout time.Duration) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0}
	return &client{url: s.url, hc: &http.Client{Timeout: timeout, Transport: tr}}
}

// do sends a JSON request and returns the status and body.
func (c *client) do(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// must sends a request that has to answer want, and decodes its body into
// out when out is not nil.
func (c *client) must(t *testing.T, method, path, body string, want int, out any) {
	t.Helper()
	code, b, err := c.do(method, path, body)
	if err != nil || code != want {
		t.Fatalf("%s %s: %d %v, want %d\n%s", method, path, code, err, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
}

// superuser creates a superuser with the CLI on s's data and signs c in.
func superuser(t *testing.T, s *server, dir string, env []string, c *client) {
	t.Helper()
	cli := exec.Command(binary, "superuser", "upsert", "root@example.com", "Secret12345", "--dir", dir)
	cli.Env = append(os.Environ(), env...)
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out)
	}
	var auth struct{ Token string }
	c.must(t, "POST", "/api/collections/_superusers/auth-with-password",
		`{"identity":"root@example.com","password":"Secret12345"}`, 200, &auth)
	c.token = auth.Token
}

// listIDs returns the id of every record of collection, page by page.
func listIDs(t *testing.T, c *client, collection string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for page := 1; ; page++ {
		var res struct {
			Items []struct{ ID string }
		}
		c.must(t, "GET", fmt.Sprintf("/api/collections/%s/records?perPage=1000&page=%d&skipTotal=1&fields=id&sort=id",
			collection, page), "", 200, &res)
		for _, it := range res.Items {
			ids[it.ID] = true
		}
		if len(res.Items) < 1000 {
			return ids
		}
	}
}

// latencies collects request durations from many goroutines.
type latencies struct {
	mu  sync.Mutex
	max time.Duration
	n   int
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	l.max = max(l.max, d)
}

func (l *latencies) get() (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.max
}
