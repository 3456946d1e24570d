package hatchgrid

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// startupGrace is how long start-up may take to stop after SIGINT or
// SIGTERM before the process exits without waiting for it. Every phase of
// start-up (the database connection and its retries, migrations, the job
// queue's restore) stops as soon as its context ends; only a phase stuck
// where it cannot notice would wait this long, and exiting then is no
// worse than a crash, which the databases and the queue survive.
const startupGrace = 5 * time.Second

// stopSignals turns the first SIGINT or SIGTERM into the end of ctx: the
// server stops gracefully, or start-up stops where it is. A second signal
// ends the process at once, as does start-up still running startupGrace
// after the first.
type stopSignals struct {
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan os.Signal
	quit   chan struct{}
	done   chan struct{}
	stderr io.Writer
	exit   func(int)

	mu       sync.Mutex
	got      os.Signal // the first signal; nil until one arrives
	starting bool
	log      *slog.Logger // nil until the App has its logger
	stopOnce sync.Once
}

// watchSignals starts watching for SIGINT and SIGTERM; call it before
// anything else, so that no moment of start-up ignores them.
func (h *Hatchgrid) watchSignals(parent context.Context) *stopSignals {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	s := &stopSignals{
		ctx: ctx, cancel: cancel,
		ch:   make(chan os.Signal, 4),
		quit: make(chan struct{}), done: make(chan struct{}),
		stderr: h.stderr, exit: h.exit,
		starting: true,
	}
	signal.Notify(s.ch, syscall.SIGINT, syscall.SIGTERM)
	go s.loop()
	return s
}

func (s *stopSignals) loop() {
	defer close(s.done)
	for {
		select {
		case sig := <-s.ch:
			s.receive(sig)
		case <-s.quit:
			// A signal that arrived before signal.Stop still counts.
			for {
				select {
				case sig := <-s.ch:
					s.receive(sig)
				default:
					return
				}
			}
		}
	}
}

func (s *stopSignals) receive(sig os.Signal) {
	s.mu.Lock()
	first := s.got == nil
	if first {
		s.got = sig
	}
	starting := s.starting
	s.mu.Unlock()
	if !first {
		s.warn("received %s again: exiting now", sig)
		s.exit(ExitError)
		return
	}
	if starting {
		s.say("received %s during start-up: stopping", sig)
		time.AfterFunc(startupGrace, func() {
			s.mu.Lock()
			still := s.starting
			s.mu.Unlock()
			if still {
				s.warn("start-up did not stop within %s of %s: exiting without a clean shutdown", startupGrace, sig)
				s.exit(ExitError)
			}
		})
	} else {
		s.say("received %s: stopping", sig)
	}
	s.cancel()
}

// say logs at info level with the App's logger once there is one, else
// on stderr; warn logs at warning level.
func (s *stopSignals) say(format string, args ...any) { s.logf(slog.LevelInfo, format, args...) }

func (s *stopSignals) warn(format string, args ...any) { s.logf(slog.LevelWarn, format, args...) }

func (s *stopSignals) logf(level slog.Level, format string, args ...any) {
	s.mu.Lock()
	log := s.log
	s.mu.Unlock()
	if log != nil {
		log.Log(context.Background(), level, fmt.Sprintf(format, args...))
		return
	}
	fmt.Fprintf(s.stderr, format+"\n", args...)
}

func (s *stopSignals) setLogger(l *slog.Logger) {
	s.mu.Lock()
	s.log = l
	s.mu.Unlock()
}

// started ends start-up: from now on a signal waits for the graceful
// shutdown, however long it takes, unless a second one comes.
func (s *stopSignals) started() {
	s.mu.Lock()
	s.starting = false
	s.mu.Unlock()
}

// received returns the first signal, nil when none came.
func (s *stopSignals) received() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// stop stops watching and reports the first signal received, counting
// one that arrived just before. From then on SIGINT and SIGTERM have
// their default action again: they end the process.
func (s *stopSignals) stop() os.Signal {
	s.stopOnce.Do(func() {
		signal.Stop(s.ch)
		close(s.quit)
		<-s.done
	})
	return s.received()
}

// release stops watching and frees the context.
func (s *stopSignals) release() {
	s.stop()
	s.cancel()
}
