//go:build unix

package hatchgrid_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/datadir"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// testMigrationEnv makes the test binary run as the hatchgrid command
// with one migration more, which behaves as the variable says:
// "wait" blocks until its context ends (a long migration), "stuck"
// blocks for ever whatever happens (a bug), "pass" does nothing. The
// first two print startedMarker when they begin.
const testMigrationEnv = "HG_TEST_SLOW_MIGRATION"

const startedMarker = "test migration: started"

func TestMain(m *testing.M) {
	if mode := os.Getenv(testMigrationEnv); mode != "" {
		os.Exit(hatchgrid.New(hatchgrid.WithAppOptions(core.WithMigrations(slowMigration(mode)))).Execute())
	}
	os.Exit(m.Run())
}

func slowMigration(mode string) migrations.Migration {
	return migrations.Migration{
		Name:   "29990101000000_test_slow",
		Target: migrations.Data,
		Up: func(tx *migrations.Tx) error {
			if err := tx.DB.Exec(`CREATE TABLE test_slow (id TEXT PRIMARY KEY)`).Error; err != nil {
				return err
			}
			switch mode {
			case "wait":
				fmt.Println(startedMarker)
				<-tx.Context.Done()
				return tx.Context.Err()
			case "stuck":
				fmt.Println(startedMarker)
				select {}
			}
			return nil
		},
	}
}

// startupProc is the test binary serving as hatchgrid.
type startupProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	addr string
}

type lockedBuffer = coretest.LogBuffer

func startServe(t *testing.T, dir, mode string, env []string) *startupProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "serve", "--dir", dir, "--http", addr)
	cmd.Env = append(append(os.Environ(), testMigrationEnv+"="+mode), env...)
	p := &startupProc{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{}), addr: addr}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.out.String(), startedMarker) && mode != "pass" {
		select {
		case <-p.done:
			t.Fatalf("exited before the migration ran:\n%s", p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the migration did not start within a minute:\n%s", p.out.String())
		}
	}
	return p
}

// exit waits for the process and returns its exit code and how long it
// took from now.
func (p *startupProc) exit(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("still running %s later:\n%s", limit, p.out.String())
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// TestSignalDuringAMigration: SIGTERM while serve applies a long migration
// stops it within a couple of seconds, exit 0, the migration rolled back
// and the data dir free; the next start applies it and serves.
func TestSignalDuringAMigration(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	var env []string
	if coretest.Dialect() == "postgres" {
		env = append(env, "HG_DATABASE_URL="+coretest.NewPostgresSchema(t))
	}
	p := startServe(t, dir, "wait", env)
	p.cmd.Process.Signal(syscall.SIGTERM)
	code, took := p.exit(t, 10*time.Second)
	if code != 0 || !strings.Contains(p.out.String(), "stopped during start-up") || took > 2*time.Second {
		t.Fatalf("exit %d after %s:\n%s", code, took, p.out.String())
	}
	t.Logf("SIGTERM during a migration: exit 0 after %s", took.Round(time.Millisecond))
	if h, held, _ := datadir.Current(dir); held {
		t.Fatalf("data dir still locked by %+v", h)
	}

	again := startServe(t, dir, "pass", env)
	healthy := coretest.Poll(60*time.Second, func() bool {
		res, err := http.Get("http://" + again.addr + "/api/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	if !healthy {
		t.Fatalf("no health after restart:\n%s", again.out.String())
	}
	if !strings.Contains(again.out.String(), `"msg":"applied migration","name":"29990101000000_test_slow"`) {
		t.Fatalf("the interrupted migration was not applied on the next start:\n%s", again.out.String())
	}
	again.cmd.Process.Signal(syscall.SIGTERM)
	if code, _ := again.exit(t, 40*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestSignalDuringAStuckStartup: a start-up phase that ignores its
// context cannot keep the process: it exits (status 1) a few seconds
// after SIGTERM, or at once on a second signal (Ctrl-C twice).
func TestSignalDuringAStuckStartup(t *testing.T) {
	t.Parallel()
	t.Run("one SIGTERM", func(t *testing.T) {
		t.Parallel()
		p := startServe(t, filepath.Join(t.TempDir(), "data"), "stuck", nil)
		p.cmd.Process.Signal(syscall.SIGTERM)
		code, took := p.exit(t, 20*time.Second)
		if code != 1 || !strings.Contains(p.out.String(), "start-up did not stop within 5s of terminated") || took > 8*time.Second {
			t.Fatalf("exit %d after %s:\n%s", code, took, p.out.String())
		}
	})
	t.Run("Ctrl-C twice", func(t *testing.T) {
		t.Parallel()
		p := startServe(t, filepath.Join(t.TempDir(), "data"), "stuck", nil)
		p.cmd.Process.Signal(syscall.SIGINT)
		coretest.Poll(10*time.Second, func() bool { return strings.Contains(p.out.String(), "received interrupt during start-up") })
		p.cmd.Process.Signal(syscall.SIGINT)
		code, took := p.exit(t, 10*time.Second)
		if code != 1 || !strings.Contains(p.out.String(), "received interrupt again: exiting now") || took > 2*time.Second {
			t.Fatalf("exit %d after %s:\n%s", code, took, p.out.String())
		}
	})
}
