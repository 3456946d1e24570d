package coretest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a private redis-server process of one test, on its own
// port, without persistence. Stop kills it; Start brings it back on the
// same port (empty).
type RedisServer struct {
	t    testing.TB
	path string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// NewRedisServer starts a private redis-server for t, killed when the test
// ends. Without redis-server on PATH the test is skipped, or fails when
// CI=true.
func NewRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "coretest: redis-server is not installed"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, "!!! "+msg+" -- SKIPPING")
		t.Skip(msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &RedisServer{t: t, path: path, Port: port}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's database 0.
func (s *RedisServer) URL() string {
	return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port)
}

// Start runs redis-server (again) on s.Port and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("coretest: redis-server already running")
	}
	cmd := exec.Command(s.path, "--bind", "127.0.0.1", "--port", strconv.Itoa(s.Port),
		"--save", "", "--appendonly", "no", "--dir", s.t.TempDir())
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("coretest: start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.Port)})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			s.cmd = nil
			s.t.Fatalf("coretest: redis-server on port %d exited at start (port taken?)", s.Port)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("coretest: redis-server on port %d does not answer: %v", s.Port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills redis-server (SIGKILL) and waits for it to exit.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}
