package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// FileName is the lock file's name inside the data directory.
const FileName = "hatchgrid.lock"

// Holder says who holds a data directory's lock.
type Holder struct {
	PID int `json:"pid"`
	// Address is the server's listening address (host:port), empty until
	// it listens or for commands that do not serve.
	Address string `json:"address,omitempty"`
	// Command is what the holder runs: "serve", "jobs purge", ...
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

// String describes the holder for error messages: "pid 123 (serve,
// listening on 127.0.0.1:8090)".
func (h Holder) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d", h.PID)
	var extra []string
	if h.Command != "" {
		extra = append(extra, h.Command)
	}
	if h.Address != "" {
		extra = append(extra, "listening on "+h.Address)
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
	}
	return b.String()
}

// LockedError is returned by Lock when another process holds the lock.
type LockedError struct {
	Dir    string
	Holder Holder // zero when the holder has not written it yet
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.Holder.PID != 0 {
		who = e.Holder.String()
	}
	return fmt.Sprintf("data dir %s is in use by %s: one server per data dir", e.Dir, who)
}

// ErrUnsupported is returned where the OS offers no file locks this
// package knows.
var ErrUnsupported = errors.New("data dir locks are not supported on this system")

// Lock is a held data-directory lock.
type Lock struct {
	dir string
	mu  sync.Mutex
	f   *os.File
	h   Holder
}

// Acquire takes the exclusive lock of dir (created if missing) for
// command, without waiting: if another process holds it, it returns a
// *LockedError naming the holder.
func Acquire(dir, command string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ok, err := tryLock(f, true)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		f.Close()
		h, _ := readHolder(path)
		return nil, &LockedError{Dir: dir, Holder: h}
	}
	l := &Lock{dir: dir, f: f, h: Holder{PID: os.Getpid(), Command: command, Started: time.Now().UTC()}}
	if err := l.write(); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// Adopt takes over a lock inherited from the process that exec'd this one
// (see File): f is the inherited descriptor of dir's lock file, still
// holding the lock. The holder record gets this process's command.
func Adopt(f *os.File, dir, command string) (*Lock, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("inherited lock: %w", err)
	}
	want, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || !os.SameFile(fi, want) {
		return nil, fmt.Errorf("inherited lock is not %s", filepath.Join(dir, FileName))
	}
	// Locking again through the same open file is a no-op that succeeds
	// when this descriptor is the holder, and fails if it is not.
	ok, err := tryLock(f, true)
	if err != nil || !ok {
		return nil, fmt.Errorf("inherited lock of %s is not held", dir)
	}
	l := &Lock{dir: dir, f: f, h: Holder{PID: os.Getpid(), Command: command, Started: time.Now().UTC()}}
	return l, l.write()
}

// Dir returns the locked directory.
func (l *Lock) Dir() string { return l.dir }

// File returns the lock's open file, for handing the lock to a process
// this one execs: the lock stays held as long as any descriptor of that
// open file does. Clear its close-on-exec flag first.
func (l *Lock) File() *os.File { return l.f }

// SetAddress records the address the holder listens on.
func (l *Lock) SetAddress(addr string) error {
	l.mu.Lock()
	l.h.Address = addr
	l.mu.Unlock()
	return l.write()
}

// Holder returns what the lock file says of this holder.
func (l *Lock) Holder() Holder {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h
}

func (l *Lock) write() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("data dir lock released")
	}
	data, err := json.Marshal(l.h)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err = l.f.WriteAt(data, 0)
	return err
}

// Release unlocks and closes the lock file; the file stays, empty, so
// that a reader never sees a stale holder. It is safe to call twice.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Current reports who holds dir's lock: ok is false when nobody does
// (the directory or lock file may not exist). It never takes the lock
// for longer than the check.
func Current(dir string) (h Holder, ok bool, err error) {
	path := filepath.Join(dir, FileName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, err
	}
	defer f.Close()
	free, err := tryLock(f, false)
	if err != nil {
		return Holder{}, false, err
	}
	if free {
		_ = unlock(f)
		return Holder{}, false, nil
	}
	h, _ = readHolder(path)
	return h, true, nil
}

// readHolder reads the holder record; a holder that has not written it
// yet (or is rewriting it) reads as the zero Holder.
func readHolder(path string) (Holder, error) {
	var h Holder
	for range 3 {
		data, err := os.ReadFile(path)
		if err != nil {
			return Holder{}, err
		}
		if len(data) > 0 && json.Unmarshal(data, &h) == nil {
			return h, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return Holder{}, nil
}
