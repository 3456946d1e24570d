package core_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/datadir"
)

// closedPort is a local port where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func bootstrapWith(ctx context.Context, t *testing.T, dir, url string, timeout time.Duration, log *syncLog) error {
	cfg := coretest.Config(t)
	cfg.DataDir = dir
	cfg.Database.URL = url
	cfg.Database.ConnectTimeout = timeout
	app := core.New(cfg, core.WithLogger(slog.New(slog.NewTextHandler(log, nil))), core.WithInlineJobs())
	defer app.Shutdown(context.Background())
	return app.Bootstrap(ctx)
}

// A PostgreSQL that refuses connections is tried again until
// database.connect_timeout, and a cancelled context ends the wait at once.
func TestBootstrapWaitsForTheDatabase(t *testing.T) {
	t.Parallel()
	url := "postgres://hg@" + closedPort(t) + "/hg?sslmode=disable"

	var log syncLog
	start := time.Now()
	err := bootstrapWith(context.Background(), t, t.TempDir(), url, 1500*time.Millisecond, &log)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "connect to postgres database") {
		t.Fatalf("Bootstrap = %v", err)
	}
	if took < time.Second || took > 10*time.Second {
		t.Fatalf("gave up after %s, want about 1.5s", took)
	}
	if n := strings.Count(log.String(), "waiting for the database"); n < 2 {
		t.Fatalf("%d retries logged:\n%s", n, log.String())
	}

	log = syncLog{}
	start = time.Now()
	if err := bootstrapWith(context.Background(), t, t.TempDir(), url, 0, &log); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("connect_timeout 0: %v after %s", err, time.Since(start))
	}
	if strings.Contains(log.String(), "waiting for the database") {
		t.Fatalf("connect_timeout 0 retried:\n%s", log.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log = syncLog{}
	go func() { done <- bootstrapWith(ctx, t, t.TempDir(), url, time.Hour, &log) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), "waiting for the database") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Bootstrap = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Bootstrap kept waiting for the database after its context ended")
	}
}

// A server that accepts the connection and never answers (a PostgreSQL
// stuck starting, a firewall) holds Bootstrap only until ctx ends.
func TestBootstrapStopsWaitingForASilentDatabase(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var log syncLog
	go func() {
		done <- bootstrapWith(ctx, t, t.TempDir(), "postgres://hg@"+ln.Addr().String()+"/hg?sslmode=disable", time.Hour, &log)
	}()
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(20 * time.Second):
		t.Fatal("Bootstrap never connected")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Bootstrap = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Bootstrap kept waiting for a silent database after its context ended")
	}
}

// A data dir remembers its database: opening it with the other dialect,
// where that would start a new, empty database, is refused with the way
// out; a data dir from before the marker keeps working and gets one.
func TestDataDirRemembersItsDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := coretest.NewPostgresSchema(t)
	var log syncLog

	// Used with PostgreSQL, then opened without its URL: SQLite.
	pgDir := t.TempDir()
	if err := bootstrapWith(ctx, t, pgDir, pg, 0, &log); err != nil {
		t.Fatal(err)
	}
	m, ok, err := datadir.ReadDatabase(pgDir)
	if err != nil || !ok || m.Dialect != "postgres" || !strings.Contains(m.URL, "search_path=") {
		t.Fatalf("marker = %+v %v %v", m, ok, err)
	}
	err = bootstrapWith(ctx, t, pgDir, "", 0, &log)
	if err == nil || !strings.Contains(err.Error(), "was used with PostgreSQL") || !strings.Contains(err.Error(), "HG_DATABASE_URL") {
		t.Fatalf("SQLite on a PostgreSQL data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(pgDir, "data.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a SQLite database was created anyway: %v", err)
	}
	// The same PostgreSQL database again is fine.
	if err := bootstrapWith(ctx, t, pgDir, pg, 0, &log); err != nil {
		t.Fatal(err)
	}

	// Used with SQLite, then opened with a new PostgreSQL database.
	sqliteDir := t.TempDir()
	if err := bootstrapWith(ctx, t, sqliteDir, "", 0, &log); err != nil {
		t.Fatal(err)
	}
	fresh := coretest.NewPostgresSchema(t)
	err = bootstrapWith(ctx, t, sqliteDir, fresh, 0, &log)
	if err == nil || !strings.Contains(err.Error(), "was used with SQLite") || !strings.Contains(err.Error(), "new, empty PostgreSQL database") {
		t.Fatalf("new PostgreSQL on a SQLite data dir: %v", err)
	}
	// ... but an existing one (pg, migrated above) is not new: allowed.
	if err := bootstrapWith(ctx, t, sqliteDir, pg, 0, &log); err != nil {
		t.Fatalf("migrated PostgreSQL on a SQLite data dir: %v", err)
	}
	// Deleting the marker, as the message says, lets the new one in.
	if err := os.Remove(filepath.Join(sqliteDir, datadir.DatabaseFileName)); err != nil {
		t.Fatal(err)
	}
	if err := bootstrapWith(ctx, t, sqliteDir, fresh, 0, &log); err != nil {
		t.Fatalf("after deleting the marker: %v", err)
	}

	// A data dir from before the marker: it opens and gets one.
	old := t.TempDir()
	if err := bootstrapWith(ctx, t, old, "", 0, &log); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(old, datadir.DatabaseFileName)); err != nil {
		t.Fatal(err)
	}
	if err := bootstrapWith(ctx, t, old, "", 0, &log); err != nil {
		t.Fatalf("a data dir without a marker: %v", err)
	}
	if m, ok, _ := datadir.ReadDatabase(old); !ok || m.Dialect != "sqlite" {
		t.Fatalf("marker not written for an old data dir: %+v %v", m, ok)
	}
}
