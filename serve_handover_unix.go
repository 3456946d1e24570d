//go:build unix

package hatchgrid

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/datadir"
	"golang.org/x/sys/unix"
)

// handoverEnv names the descriptors a re-executed serve inherits:
// "PID:LISTENER:LOCK", the pid guarding against a stray copy of the
// variable in another process's environment (exec keeps the pid).
const handoverEnv = "HG_SERVE_HANDOVER"

// handover lets serve re-execute itself (after a backup restore) without
// ever closing its listening socket or letting go of the data dir lock:
// connections that arrive meanwhile wait in the socket's backlog until the
// new process accepts them, and no other process can take the data dir in
// between.
type handover struct {
	mu     sync.Mutex
	sock   *os.File // a duplicate of the listening socket, which outlives the server's Shutdown
	lock   *datadir.Lock
	sig    *stopSignals
	argv   []string
	closed bool
}

// newHandover keeps a duplicate of ln's socket until the process is
// replaced or stops; a stop closes it at once, so that new connections are
// refused rather than left waiting for a process that will not come.
func newHandover(ln net.Listener, lock *datadir.Lock, sig *stopSignals, args []string) (*handover, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, nil
	}
	sock, err := tl.File()
	if err != nil {
		return nil, err
	}
	ho := &handover{sock: sock, lock: lock, sig: sig, argv: append([]string{os.Args[0]}, args...)}
	context.AfterFunc(sig.ctx, ho.close)
	return ho, nil
}

func (ho *handover) close() {
	ho.mu.Lock()
	defer ho.mu.Unlock()
	if !ho.closed {
		ho.closed = true
		_ = ho.sock.Close()
	}
}

// restart is ServeEvent.Restart: it replaces the process with a fresh run
// of the same command line, handing it the socket and the lock.
func (ho *handover) restart() error {
	ho.mu.Lock()
	defer ho.mu.Unlock()
	if ho.closed {
		return core.ErrRestartCancelled
	}
	// From here a signal takes its default action and ends the process,
	// this one or the next: none is caught for a process that exec is
	// about to replace.
	if ho.sig.stop() != nil {
		return core.ErrRestartCancelled
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	sockFD, err := inheritable(ho.sock)
	if err != nil {
		return fmt.Errorf("hand over the listening socket: %w", err)
	}
	lockFD, err := inheritable(ho.lock.File())
	if err != nil {
		return fmt.Errorf("hand over the data dir lock: %w", err)
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, handoverEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, fmt.Sprintf("%s=%d:%d:%d", handoverEnv, os.Getpid(), sockFD, lockFD))
	err = syscall.Exec(exe, ho.argv, env)
	return fmt.Errorf("re-execute %s: %w", exe, err)
}

// inheritable clears close-on-exec on f's descriptor and returns it. It
// goes through SyscallConn: File.Fd would switch a socket to blocking mode.
func inheritable(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd, ferr := -1, error(nil)
	err = rc.Control(func(d uintptr) {
		fd = int(d)
		_, ferr = unix.FcntlInt(d, unix.F_SETFD, 0)
	})
	if err == nil {
		err = ferr
	}
	return fd, err
}

// inherited is what a re-executed serve took over.
type inherited struct {
	ln   net.Listener
	lock *datadir.Lock
}

// takeHandover takes over the socket and the lock named by handoverEnv,
// if this process was re-executed by serve. The variable is removed
// either way. With no variable, or one left in the environment by another
// process, it returns nil and nothing was touched.
func takeHandover(dir string) (*inherited, error) {
	v, ok := os.LookupEnv(handoverEnv)
	if !ok {
		return nil, nil
	}
	_ = os.Unsetenv(handoverEnv)
	var pid, sockFD, lockFD int
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%s=%q: want PID:LISTENER:LOCK", handoverEnv, v)
	}
	for i, p := range []*int{&pid, &sockFD, &lockFD} {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s=%q: want PID:LISTENER:LOCK", handoverEnv, v)
		}
		*p = n
	}
	if pid != os.Getpid() {
		return nil, fmt.Errorf("%s names pid %d, not this process: ignored", handoverEnv, pid)
	}
	unix.CloseOnExec(sockFD)
	unix.CloseOnExec(lockFD)
	sock := os.NewFile(uintptr(sockFD), "inherited listener")
	lockFile := os.NewFile(uintptr(lockFD), "inherited data dir lock")
	fail := func(err error) (*inherited, error) {
		sock.Close()
		lockFile.Close()
		return nil, err
	}
	listening, err := unix.GetsockoptInt(sockFD, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil || listening != 1 {
		return fail(errors.Join(errors.New("inherited descriptor is not a listening socket"), err))
	}
	lock, err := datadir.Adopt(lockFile, dir, "serve")
	if err != nil {
		return fail(err)
	}
	ln, err := net.FileListener(sock)
	sock.Close() // FileListener made its own copy
	if err != nil {
		lock.Release()
		return nil, err
	}
	return &inherited{ln: ln, lock: lock}, nil
}
