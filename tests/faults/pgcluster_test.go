//go:build faults

package faults_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgCluster is a private PostgreSQL cluster of one test: initdb into a
// temporary directory, the postmaster on a free port of 127.0.0.1 with
// trust auth and no Unix socket. Stop and Start take it down and up
// without touching the shared server other tests use.
type pgCluster struct {
	t    *testing.T
	bin  string
	root string
	data string
	port int
	cred *syscall.Credential
	logs *syncBuffer
	cmd  *exec.Cmd
	done chan struct{}
}

// newPGCluster creates and starts a cluster, stopped and removed when the
// test ends.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin := pgBinDir(t)
	root, err := os.MkdirTemp("", "hatchgrid-faults-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c := &pgCluster{t: t, bin: bin, root: root, data: filepath.Join(root, "data"), logs: &syncBuffer{}}
	c.cred = pgCredential(t, root)

	start := time.Now()
	initdb := c.command("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-N", "-E", "UTF8", "--no-locale")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.port = freePort(t)
	c.Start()
	t.Logf("private PostgreSQL (%s) on port %d: initdb and start took %s", bin, c.port, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("private PostgreSQL output (tail):\n%s", c.logs.Tail(20))
		}
	})
	return c
}

// pgBinDir is the newest /usr/lib/postgresql/*/bin holding initdb, or the
// directory of the initdb on PATH.
func pgBinDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		need(t, "PostgreSQL server binaries (initdb, postgres) are not in /usr/lib/postgresql/*/bin nor on PATH", err)
	}
	return filepath.Dir(p)
}

// pgCredential is who runs initdb and postgres: they refuse root, so as
// root they run as the postgres user (setuid in the child, no runuser or
// setpriv needed) and root, their working directory, is handed to it.
func pgCredential(t *testing.T, root string) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		need(t, "running as root, and initdb refuses root: no postgres user to run it as", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(root, uid, gid); err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// URL is the cluster's postgres database.
func (c *pgCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Start runs the postmaster and waits until it accepts connections.
func (c *pgCluster) Start() {
	c.t.Helper()
	cmd := c.command("postgres", "-D", c.data, "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off")
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start postgres: %v", err)
	}
	c.cmd, c.done = cmd, make(chan struct{})
	done := c.done
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.URL())
		if err == nil {
			conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		select {
		case <-done:
			c.t.Fatalf("postgres exited at start\n%s", c.logs.Tail(20))
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("postgres on port %d does not accept connections: %v\n%s", c.port, err, c.logs.Tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop is a fast shutdown (SIGINT: sessions are ended, then a checkpoint)
// and waits for the postmaster to exit.
func (c *pgCluster) Stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		c.t.Error(errors.New("postgres did not stop within 30s of a fast shutdown"))
	}
	c.cmd = nil
}
