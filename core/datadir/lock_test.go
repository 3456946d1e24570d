//go:build unix

package datadir_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/datadir"
)

// TestMain lets the test binary act as a second process: with
// HG_LOCK_CHILD set it takes (or adopts) the lock named there, prints
// "locked", and waits to be killed.
func TestMain(m *testing.M) {
	if spec := os.Getenv("HG_LOCK_CHILD"); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

func child(spec string) int {
	mode, dir, _ := strings.Cut(spec, ":")
	var err error
	switch mode {
	case "acquire":
		var l *datadir.Lock
		if l, err = datadir.Acquire(dir, "child"); err == nil {
			err = l.SetAddress("127.0.0.1:1234")
		}
	case "adopt":
		_, err = datadir.Adopt(os.NewFile(3, "lock"), dir, "adopted")
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	return 0
}

// startChild runs the test binary as a lock holder and waits until it
// holds the lock.
func startChild(t *testing.T, spec string, extra ...*os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HG_LOCK_CHILD="+spec)
	cmd.ExtraFiles = extra
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if got := strings.TrimSpace(string(buf[:n])); got != "locked" {
		t.Fatalf("child: %q", got)
	}
	return cmd
}

func TestAcquireIsExclusiveWithinOneProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := datadir.Acquire(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetAddress("127.0.0.1:8090"); err != nil {
		t.Fatal(err)
	}
	_, err = datadir.Acquire(dir, "serve")
	var le *datadir.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Acquire: %v, want a LockedError", err)
	}
	if le.Holder.PID != os.Getpid() || le.Holder.Address != "127.0.0.1:8090" || le.Holder.Command != "serve" {
		t.Fatalf("holder %+v", le.Holder)
	}
	if want := fmt.Sprintf("pid %d (serve, listening on 127.0.0.1:8090)", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
	h, ok, err := datadir.Current(dir)
	if err != nil || !ok || h.PID != os.Getpid() {
		t.Fatalf("Current = %+v, %v, %v", h, ok, err)
	}

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if _, ok, err := datadir.Current(dir); ok || err != nil {
		t.Fatalf("Current after Release: held=%v err=%v", ok, err)
	}
	l2, err := datadir.Acquire(dir, "jobs ls")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

func TestCurrentOnAMissingDir(t *testing.T) {
	if _, ok, err := datadir.Current(filepath.Join(t.TempDir(), "none")); ok || err != nil {
		t.Fatalf("held=%v err=%v", ok, err)
	}
}

// The kernel drops the lock of a process that dies, kill -9 included.
func TestLockOfAKilledProcessIsFree(t *testing.T) {
	dir := t.TempDir()
	cmd := startChild(t, "acquire:"+dir)
	_, err := datadir.Acquire(dir, "serve")
	var le *datadir.LockedError
	if !errors.As(err, &le) || le.Holder.PID != cmd.Process.Pid || le.Holder.Address != "127.0.0.1:1234" {
		t.Fatalf("Acquire beside the child: %v (holder %+v, child pid %d)", err, le, cmd.Process.Pid)
	}
	if h, ok, _ := datadir.Current(dir); !ok || h.PID != cmd.Process.Pid {
		t.Fatalf("Current = %+v, %v", h, ok)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	l, err := datadir.Acquire(dir, "serve")
	if err != nil {
		t.Fatalf("Acquire after kill -9: %v", err)
	}
	l.Release()
}

// A lock handed to an exec'd process stays held while the giver closes
// its own descriptor, so nobody can take the directory in between.
func TestAdoptKeepsTheLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	l, err := datadir.Acquire(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	cmd := startChild(t, "adopt:"+dir, l.File())
	// The giver lets go of its descriptor without unlocking, as exec does.
	l.File().Close()
	_, err = datadir.Acquire(dir, "serve")
	var le *datadir.LockedError
	if !errors.As(err, &le) || le.Holder.PID != cmd.Process.Pid || le.Holder.Command != "adopted" {
		t.Fatalf("Acquire after the hand-over: %v (holder %+v)", err, le)
	}
}

func TestAdoptRefusesAnotherFile(t *testing.T) {
	dir := t.TempDir()
	l, err := datadir.Acquire(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	other, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := datadir.Adopt(other, dir, "serve"); err == nil {
		t.Fatal("Adopt of an unrelated file succeeded")
	}
}
