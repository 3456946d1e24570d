package main_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/datadir"
)

// proc is a hatchgrid process that may never serve.
type proc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
}

// spawn starts the binary with env added to the environment, and kills it
// at the end of the test if it still runs.
func spawn(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitExit waits up to limit for the process to exit and returns how long
// that took from now.
func (p *proc) waitExit(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-p.done:
		return time.Since(start)
	case <-time.After(limit):
		t.Fatalf("still running %s later\nstderr:\n%s", limit, p.stderr.String())
		return 0
	}
}

// waitFor polls the process's output until it holds want.
func (p *proc) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.stdout.String()+p.stderr.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("exited (%v) before printing %q\nstderr:\n%s", p.cmd.ProcessState, want, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within a minute\nstderr:\n%s", want, p.stderr.String())
		}
	}
}

// lockFree checks that nobody holds dir's lock any more.
func lockFree(t *testing.T, dir string) {
	t.Helper()
	if h, held, err := datadir.Current(dir); held || err != nil {
		t.Fatalf("data dir lock still held by %+v (%v)", h, err)
	}
}

// TestOneServerPerDataDir: a second serve on a data dir in use exits 1 at
// once, naming the first, whether it asks for another port or the same
// one, and leaves the first alone; CLI commands still work beside it.
func TestOneServerPerDataDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := dbEnv(t)
	first := startServer(t, dir, env)
	addr := strings.TrimPrefix(first.url, "http://")

	for _, tc := range []struct{ name, http string }{{"another port", freeAddr(t)}, {"the same port", addr}} {
		second := spawn(t, env, "serve", "--dir", dir, "--http", tc.http)
		took := second.waitExit(t, 30*time.Second)
		want := fmt.Sprintf("data dir %s is in use by pid %d (serve, listening on %s)", dir, first.cmd.Process.Pid, addr)
		if code := second.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(second.stderr.String(), want) {
			t.Fatalf("%s: exit %d, stderr %q, want 1 and %q", tc.name, code, second.stderr.String(), want)
		}
		if took > time.Second {
			t.Fatalf("%s: the second serve took %s to give up, want under a second", tc.name, took)
		}
		if strings.Contains(second.stderr.String(), "applied migration") || second.stdout.String() != "" {
			t.Fatalf("%s: the second serve went on starting:\n%s%s", tc.name, second.stdout.String(), second.stderr.String())
		}
		t.Logf("%s: exit 1 after %s: %s", tc.name, took.Round(time.Millisecond), strings.TrimSpace(second.stderr.String()))
	}

	// Commands that are not serve work beside it, on the same data.
	token := signIn(t, first, dir, env)
	runCLI(t, env, "migrate", "status", "--dir", dir)
	mustCall(t, first, "GET", "/api/collections/_superusers/records", "", token)

	if code := first.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	lockFree(t, dir)
	again := startServer(t, dir, env)
	again.stop(t)
}

// silentServer accepts TCP connections and never answers, as a PostgreSQL
// that hangs starting would; it reports each accepted connection.
func silentServer(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 64)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

// TestSignalDuringStartup sends SIGTERM or SIGINT (Ctrl-C) to serve while
// it waits for its database: connected to a server that never answers, or
// retrying one that refuses connections. It must exit 0 within a couple of
// seconds and let go of the data dir.
func TestSignalDuringStartup(t *testing.T) {
	t.Parallel()
	t.Run("SIGTERM while the database does not answer", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "data")
		pg, accepted := silentServer(t)
		p := spawn(t, []string{"HG_DATABASE_URL=postgres://hg@" + pg + "/hg?sslmode=disable"},
			"serve", "--dir", dir, "--http", freeAddr(t))
		select {
		case <-accepted:
		case <-time.After(60 * time.Second):
			t.Fatalf("serve never connected to the database\n%s", p.stderr.String())
		}
		stopDuringStartup(t, p, dir, syscall.SIGTERM)
	})
	t.Run("Ctrl-C while retrying a database that refuses connections", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "data")
		p := spawn(t, []string{"HG_DATABASE_URL=postgres://hg@" + freeAddr(t) + "/hg?sslmode=disable"},
			"serve", "--dir", dir, "--http", freeAddr(t))
		p.waitFor(t, "waiting for the database")
		stopDuringStartup(t, p, dir, syscall.SIGINT)
	})
}

func stopDuringStartup(t *testing.T, p *proc, dir string, sig syscall.Signal) {
	t.Helper()
	if h, held, _ := datadir.Current(dir); !held || h.PID != p.cmd.Process.Pid {
		t.Errorf("serve does not hold its data dir while starting: %+v", h)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	took := p.waitExit(t, 10*time.Second)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(p.stderr.String(), "stopped during start-up") {
		t.Fatalf("exit %d after %s\nstderr:\n%s", code, sig, p.stderr.String())
	}
	if took > 2*time.Second {
		t.Fatalf("took %s to stop after %s", took, sig)
	}
	t.Logf("%s during start-up: exit 0 after %s", sig, took.Round(time.Millisecond))
	lockFree(t, dir)
}
