package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hatchgrid/hatchgrid/core/datadir"
	"github.com/hatchgrid/hatchgrid/core/jobjournal"
	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/redis/go-redis/v9"
)

// WithEmbeddedQueueOwner makes the App the owner of its data dir's
// embedded job queue (embedded mode: no redis.url). Only an owner opens
// the queue: it restores <data_dir>/jobs.snapshot, replays the journal
// written since, journals its enqueues and saves the queue. Give it only
// to the process holding the data dir's lock (datadir.Acquire), as `serve`
// does; Bootstrap refuses it while another process holds that lock. An
// embedded-mode App without it never opens the queue: its jobs go to the
// outbox, which the owner dispatches, and Inspector is nil. Redis mode
// ignores it.
func WithEmbeddedQueueOwner() Option { return func(a *App) { a.jobs.owner = true } }

// embeddedRedis is embedded mode's in-process Redis: miniredis, reached
// through in-memory connections (no port is opened), saved to the data
// dir as a snapshot plus a journal of task writes since.
type embeddedRedis struct {
	srv      *miniredis.Miniredis
	dir      string
	snapshot string // <data_dir>/jobs.snapshot
	journal  *jobjournal.Journal
	gate     queueGate
	logger   *slog.Logger

	saveMu sync.Mutex // one save at a time

	mu    sync.Mutex // guards saved
	saved time.Time

	// clockMu is held by each TTL tick, and by a save while it copies.
	clockMu sync.Mutex
	stop    chan struct{} // closed to stop the TTL clock
	stopped chan struct{} // closed when the TTL clock has stopped
}

// embeddedTTLTick is how often the embedded server's key TTLs (unique
// locks, server heartbeats, cron markers) advance with the wall clock: a
// key expires at most this late, while the queue is small.
const embeddedTTLTick = 100 * time.Millisecond

// embeddedTTLShare bounds the share of the time the TTL clock holds the
// server: each advance lists and sorts every key under miniredis's lock
// (~60 ms with 100,000 keys), so a large queue advances less often, up to
// every embeddedTTLMaxTick (a unique lock or heartbeat expires that late).
const (
	embeddedTTLShare   = 10 // wait at least 10 times what the last advance took
	embeddedTTLMaxTick = time.Second
)

// startClock advances the server's TTLs until stopClock. miniredis's own
// ClockTTL does this on every command instead: with a few thousand queued
// tasks that was ~65% of embedded mode's CPU (BenchmarkJobsThroughput).
func (e *embeddedRedis) startClock() {
	e.stop, e.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(e.stopped)
		t := time.NewTimer(embeddedTTLTick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-e.stop:
				return
			case now := <-t.C:
				e.clockMu.Lock()
				if d := now.Sub(last); d > 0 {
					e.srv.FastForward(d)
					last = now
				}
				e.clockMu.Unlock()
				took := time.Since(now)
				t.Reset(min(max(embeddedTTLTick, embeddedTTLShare*took), embeddedTTLMaxTick))
			}
		}
	}()
}

func (e *embeddedRedis) stopClock() {
	if e.stop != nil {
		close(e.stop)
		<-e.stopped
		e.stop = nil
	}
}

// dial connects a client: its end is a net.Pipe, the server's a
// replyConn (see there).
func (e *embeddedRedis) dial() (net.Conn, error) {
	client, server := net.Pipe()
	e.srv.Server().ServeConn(newReplyConn(server))
	return client, nil
}

// openEmbedded starts the embedded server, loads the snapshot into it,
// replays the journal over it and starts a new journal segment.
func (s *JobService) openEmbedded(ctx context.Context) error {
	dir := s.app.cfg.DataDir
	if h, held, err := datadir.Current(dir); err == nil && held && h.PID != os.Getpid() {
		return fmt.Errorf("jobs: the embedded queue of %s belongs to %s", dir, h)
	}
	m := miniredis.NewMiniRedis()
	// Dial starts miniredis without a listener; connections are then
	// added to its server by dial.
	c, err := m.Dial()
	if err != nil {
		return err
	}
	c.Close()
	e := &embeddedRedis{srv: m, dir: dir, snapshot: filepath.Join(dir, "jobs.snapshot"),
		logger: s.app.logger.With("component", "jobs")}
	// TTLs (unique locks, server heartbeats) run on the wall clock;
	// without it they would never expire.
	e.startClock()
	s.embedded = e
	s.rdb = redis.NewClient(&redis.Options{
		Addr:            "embedded",
		Protocol:        2,
		Dialer:          func(context.Context, string, string) (net.Conn, error) { return e.dial() },
		DisableIdentity: true,
		PoolSize:        4 * runtime.GOMAXPROCS(0),
		// miniredis answers at once; a deadline could only cut a reply
		// off mid-pipeline.
		ReadTimeout:  -1,
		WriteTimeout: -1,
	})
	s.rdb.AddHook(&e.gate)
	s.openClients()
	lastSeq, err := e.restore(ctx, s.app.Now())
	if err == nil {
		lastSeq, err = s.replayJournal(ctx, lastSeq)
	}
	if err == nil {
		e.journal, err = jobjournal.Open(dir, lastSeq+1)
	}
	if err != nil {
		s.closeEmbedded()
		return fmt.Errorf("jobs: open the embedded queue in %s: %w", dir, err)
	}
	return nil
}

// closeEmbedded closes the clients, the server and the journal.
func (s *JobService) closeEmbedded() {
	e := s.embedded
	s.closeClients()
	_ = s.rdb.Close()
	e.stopClock()
	e.srv.Close()
	if e.journal != nil {
		if err := e.journal.Close(); err != nil {
			e.logger.Error("jobs: close the journal", "error", err)
		}
	}
	s.rdb, s.embedded = nil, nil
}

// restoreProgressEvery is how often a long restore logs how far it is.
const restoreProgressEvery = 2 * time.Second

// restore loads the snapshot file, if any, into the empty server; keys
// whose TTL ran out while the process was down are dropped. It returns the
// last journal record the snapshot holds.
func (e *embeddedRedis) restore(ctx context.Context, now time.Time) (uint64, error) {
	f, err := os.Open(e.snapshot)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sr, err := openSnapshot(f)
	if err != nil {
		return 0, err
	}
	start, lastLog := time.Now(), time.Now()
	total := sr.header.Keys
	e.logger.Info("jobs: restoring the embedded queue", "keys", total, "savedAt", sr.header.SavedAt)
	db := e.srv.DB(0)
	var active []string
	read, loaded := 0, 0
	for {
		k, err := sr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		read++
		ok, err := loadKey(db, k, now)
		if err != nil {
			return 0, err
		}
		if ok {
			loaded++
			if k.Type == "list" && jobs.IsActiveList(string(k.Key)) {
				active = append(active, string(k.Key))
			}
		}
		if time.Since(lastLog) >= restoreProgressEvery {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			lastLog = time.Now()
			e.logger.Info("jobs: restoring the embedded queue", "read", read, "keys", total)
		}
	}
	requeued := requeueActive(db, active)
	e.logger.Info("jobs: restored the embedded queue", "keys", loaded, "requeued", requeued,
		"took", time.Since(start).Round(time.Millisecond).String())
	return sr.header.JournalSeq, nil
}

// save writes the whole queue to the snapshot and drops the journal
// segments it makes redundant. The queue is paused only while its keys
// are copied in memory.
func (s *JobService) saveEmbedded(ctx context.Context) error {
	_, err := s.saveEmbeddedTimed(ctx)
	return err
}

// saveEmbeddedTimed is saveEmbedded, returning how long the queue was
// paused.
func (s *JobService) saveEmbeddedTimed(ctx context.Context) (time.Duration, error) {
	e := s.embedded
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	boundary, err := e.journal.Rotate()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	e.gate.mu.Lock()
	e.clockMu.Lock()
	keys := copyKeys(e.srv.DB(0))
	e.clockMu.Unlock()
	e.gate.mu.Unlock()
	paused := time.Since(start)
	now := s.app.Now()
	if err := writeSnapshot(e.snapshot, keys, boundary-1, now); err != nil {
		return paused, err
	}
	if err := e.carryFinished(keys, boundary); err != nil {
		return paused, err
	}
	if err := jobjournal.RemoveBefore(e.dir, boundary); err != nil {
		return paused, err
	}
	e.mu.Lock()
	e.saved = now
	e.mu.Unlock()
	e.logger.Debug("jobs: saved the embedded queue", "keys", len(keys),
		"paused", paused.String(), "took", time.Since(start).String())
	return paused, nil
}
