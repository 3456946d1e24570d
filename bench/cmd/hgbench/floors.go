package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hatchgrid/hatchgrid/bench/floor"
	"github.com/hatchgrid/hatchgrid/bench/loadgen"
)

// floorMain is "hgbench floor": one floor server on a free loopback port,
// whose address it prints as its first line, until SIGTERM.
func floorMain(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	kind := fs.String("kind", "db", "db or http")
	dialect := fs.String("dialect", "sqlite", "db: sqlite or postgres")
	dsn := fs.String("dsn", "", "db: the SQLite data file or the PostgreSQL URL")
	collection := fs.String("collection-id", "", "db: the posts collection's id")
	body := fs.String("body", "", "http: file with the list answer")
	bodySkip := fs.String("body-skiptotal", "", "http: file with the skipTotal list answer")
	_ = fs.Parse(args)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	switch *kind {
	case "http":
		b, err := os.ReadFile(*body)
		if err != nil {
			return err
		}
		bs, err := os.ReadFile(*bodySkip)
		if err != nil {
			return err
		}
		fmt.Println(ln.Addr())
		return floor.ServeHTTPFloor(ln, b, bs)
	case "db":
		d, err := floor.OpenDB(*dialect, *dsn, *collection)
		if err != nil {
			return err
		}
		defer d.Close()
		fmt.Println(ln.Addr())
		return floor.ServeDBFloor(ln, d)
	}
	return fmt.Errorf("unknown floor %q", *kind)
}

// floorProc is a running floor server.
type floorProc struct {
	name string
	cmd  *exec.Cmd
	base string
}

// startFloor runs "hgbench floor args..." and waits for its address.
func startFloor(name string, args ...string) (*floorProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{"floor"}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s did not start: %w", name, err)
	}
	return &floorProc{name: name, cmd: cmd, base: "http://" + strings.TrimSpace(addr)}, nil
}

func (p *floorProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// floorSet is the two floors and the figures of the runs compared.
type floorSet struct {
	db, http *floorProc
	results  map[string]map[string]loadgen.Result // scenario → target → result
}

// startFloors starts the database floor on dsn and the HTTP floor with
// Hatchgrid's own answers to the two list requests, after checking that
// the database floor answers the very same bytes.
func startFloors(dir, dialect, dsn, base, postsID string) (*floorSet, error) {
	bodies := map[string][]byte{}
	for name, path := range map[string]string{"list": listPath, "list_skiptotal": listPath + "&skipTotal=1"} {
		b, err := fetch(base + path)
		if err != nil {
			return nil, err
		}
		bodies[name] = b
		if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o600); err != nil {
			return nil, err
		}
	}
	db, err := startFloor("db_floor", "-kind", "db", "-dialect", dialect, "-dsn", dsn, "-collection-id", postsID)
	if err != nil {
		return nil, err
	}
	h, err := startFloor("http_floor", "-kind", "http", "-body", filepath.Join(dir, "list.json"), "-body-skiptotal", filepath.Join(dir, "list_skiptotal.json"))
	if err != nil {
		db.stop()
		return nil, err
	}
	f := &floorSet{db: db, http: h, results: map[string]map[string]loadgen.Result{}}
	for name, path := range map[string]string{"list": listPath, "list_skiptotal": listPath + "&skipTotal=1"} {
		b, err := fetch(db.base + path)
		if err != nil {
			f.stop()
			return nil, err
		}
		if !bytes.Equal(b, bodies[name]) {
			f.stop()
			return nil, fmt.Errorf("the database floor's %s answer differs from Hatchgrid's:\n%s\n%s", name, b, bodies[name])
		}
	}
	return f, nil
}

func (f *floorSet) stop() {
	f.db.stop()
	f.http.stop()
}

func fetch(u string) ([]byte, error) {
	res, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return b, err
}

// compare measures path on Hatchgrid and both floors, A B C A B C, each
// run half of d, so that the machine's drift falls on all three alike.
func (f *floorSet) compare(ctx context.Context, client *http.Client, s *server, name, path string, workers int, d time.Duration) []loadgen.Result {
	targets := []struct {
		name, base string
		pid        int
	}{{"", s.base, s.cmd.Process.Pid}, {f.db.name, f.db.base, f.db.cmd.Process.Pid}, {f.http.name, f.http.base, f.http.cmd.Process.Pid}}
	merged := map[string]loadgen.Result{}
	for round := 0; round < 2; round++ {
		for _, t := range targets {
			u := t.base + path
			res := measure(t.pid, func() loadgen.Result {
				return loadgen.Run(ctx, client, name, workers, d/2, http.StatusOK, func(int, int) (*http.Request, error) {
					return http.NewRequest(http.MethodGet, u, nil)
				})
			})
			res.Target = t.name
			merged[t.name] = merged[t.name].Merge(res)
		}
	}
	f.results[name] = merged
	out := make([]loadgen.Result, 0, len(targets))
	for _, t := range targets {
		out = append(out, merged[t.name])
	}
	return out
}

// ratio is the line that compares Hatchgrid with the floors for one
// scenario: Hatchgrid's rps over each floor's.
func (f *floorSet) ratio(dialect, name string) map[string]any {
	r := f.results[name]
	hg, db, h := r[""].RPS, r[f.db.name].RPS, r[f.http.name].RPS
	return map[string]any{
		"ratio": true, "scenario": name, "dialect": dialect,
		"hatchgrid_rps": hg, "db_floor_rps": db, "http_floor_rps": h,
		"vs_db_floor": hg / db, "vs_http_floor": hg / h,
		// Server CPU per request, Hatchgrid's over the database floor's.
		"cpu_vs_db_floor": r[""].ServerCPUus / r[f.db.name].ServerCPUus,
	}
}
