package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// These tests run the real binary, as an operator would.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hatchgrid-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hatchgrid")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `hatchgrid serve`.
type server struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
}

type syncBuffer = coretest.LogBuffer

func dbEnv(t *testing.T) []string {
	if coretest.Dialect() == "postgres" {
		return []string{"HG_DATABASE_URL=" + coretest.NewPostgresSchema(t)}
	}
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, dir string, env []string, extra ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, append([]string{"serve", "--dir", dir, "--http", addr}, extra...)...)
	cmd.Env = append(os.Environ(), env...)
	s := &server{cmd: cmd, url: "http://" + addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(s.url + "/api/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited early: %v\nstderr:\n%s", err, s.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("server did not become healthy\nstderr:\n%s", s.stderr.String())
	return nil
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(40 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	return s.cmd.ProcessState.ExitCode()
}

func TestServeFromScratchAndRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := dbEnv(t)

	s := startServer(t, dir, env)
	res, err := http.Get(s.url + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := strings.TrimSpace(string(body)); got != `{"message":"API is healthy.","code":200,"data":{}}` {
		t.Fatalf("health body = %s", got)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("data dir not created: %v", err)
	}
	// The system migrations, then those of the binary's plugins (audit's table).
	want := []string{}
	for _, m := range migrations.All() {
		want = append(want, m.Name)
	}
	want = append(want, "audit_1_create_log")
	var applied []string
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if strings.Contains(line, `"msg":"applied migration"`) {
			var entry struct{ Name string }
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatal(err)
			}
			applied = append(applied, entry.Name)
		}
	}
	if !slices.Equal(applied, want) {
		t.Fatalf("first start applied %v, want %v\n%s", applied, want, s.stderr.String())
	}
	out := s.stdout.String()
	if !strings.Contains(out, "hatchgrid superuser upsert EMAIL PASSWORD") || !strings.Contains(out, "/_/#/install/") {
		t.Fatalf("first-run instructions missing:\n%s", out)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, s.stderr.String())
	}

	again := startServer(t, dir, env)
	if strings.Contains(again.stderr.String(), "applied migration") {
		t.Fatalf("second start applied migrations again:\n%s", again.stderr.String())
	}
	if code := again.stop(t); code != 0 {
		t.Fatalf("second exit code %d", code)
	}
}

// TestSIGTERMLetsInFlightRequestFinish sends SIGTERM while a request body is
// still arriving; the request must complete and the process exit 0.
func TestSIGTERMLetsInFlightRequestFinish(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), dbEnv(t))

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"identity":"nobody@example.com","password":"Secret12345"}`
	fmt.Fprintf(conn, "POST /api/collections/_superusers/auth-with-password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	fmt.Fprint(conn, body[:10])

	time.Sleep(200 * time.Millisecond) // the server is now reading the body
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // shutdown has begun and is waiting for us
	select {
	case <-s.done:
		t.Fatal("server exited with a request in flight")
	default:
	}
	fmt.Fprint(conn, body[10:])

	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	reply, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(reply), "Failed to authenticate.") {
		t.Fatalf("in-flight response = %d %s", res.StatusCode, reply)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after finishing the request")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// New connections are refused once shutdown began.
	if _, err := http.Get(s.url + "/api/health"); err == nil {
		t.Fatal("server still accepts connections after exit")
	}
}

func TestInvalidConfigExits2(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(binary, "serve", "--dir", dir)
	cmd.Env = append(os.Environ(), "HG_HTTP=notaport")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(stderr.String(), "http (HG_HTTP)") {
		t.Fatalf("exit %d (%v), stderr %q", cmd.ProcessState.ExitCode(), err, stderr.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("data dir written despite the invalid config")
	}
}
