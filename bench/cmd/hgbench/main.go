// Command hgbench starts a fresh Hatchgrid server, seeds it through the
// public API and measures its record operations, printing one JSON line
// per scenario plus one with the server's peak memory and data size.
//
//	make bench                       # both dialects, the figures in bench/README.md
//	go run ./bench/cmd/hgbench -bin bin/hatchgrid -dialect postgres -duration 5s
//
// The list scenarios run interleaved with two floors (see package floor),
// which hgbench starts as copies of itself ("hgbench floor ..."), and a
// ratio line compares them. The realtime scenario measures event fan-out to
// SSE clients (see package fanout).
//
// It only ever talks to 127.0.0.1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/bench/loadgen"
	_ "github.com/jackc/pgx/v5/stdlib"
)

type options struct {
	bin, dialect, pgURL string
	duration            time.Duration
	readers, writers    int
	records             int
	only                string
	floors              bool

	rtClients, rtEvents int
	rtInterval          time.Duration
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		if err := floorMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "hgbench floor:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.bin, "bin", "bin/hatchgrid", "hatchgrid binary to benchmark")
	flag.StringVar(&o.dialect, "dialect", "sqlite", "sqlite or postgres")
	flag.StringVar(&o.pgURL, "pg-url", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (a fresh schema is used)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "time per scenario (per target when the floors run)")
	flag.IntVar(&o.readers, "read-concurrency", 32, "workers for read scenarios")
	flag.IntVar(&o.writers, "write-concurrency", 16, "workers for write scenarios")
	flag.IntVar(&o.records, "records", 20000, "posts to seed")
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run (default all)")
	flag.BoolVar(&o.floors, "floors", true, "run list and list_skiptotal against the HTTP and database floors too, interleaved")
	flag.IntVar(&o.rtClients, "rt-clients", 200, "realtime: SSE clients subscribed to posts/*")
	flag.IntVar(&o.rtEvents, "rt-events", 200, "realtime: records created, one event each")
	flag.DurationVar(&o.rtInterval, "rt-interval", 20*time.Millisecond, "realtime: time between two creates")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "hgbench:", err)
		os.Exit(1)
	}
}

// scenario is one request kind measured for a fixed time.
type scenario struct {
	name    string
	writes  bool
	path    string // a fixed GET, or
	request func(base string) loadgen.Request
}

func run(o options) error {
	ctx := context.Background()
	load, _ := os.ReadFile("/proc/loadavg") // the machine's load before this run, for the record
	dir, err := os.MkdirTemp("", "hgbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	env := append(os.Environ(), "HG_LOG_LEVEL=warn")
	dbSize := func() int64 { n, _ := dirSize(dir); return n }
	dsn := ""
	if o.dialect == "postgres" {
		var pg *pgBench
		dsn, pg, err = pgSchema(o.pgURL)
		if err != nil {
			return err
		}
		defer pg.drop()
		env = append(env, "HG_DATABASE_URL="+dsn)
		dbSize = pg.size
	}
	s, err := start(o.bin, dir, env)
	if err != nil {
		return err
	}
	defer s.stop()
	if dsn == "" {
		dsn = s.dir + "/data.db"
	}

	seed, err := s.seed(o)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}
	out := jsonEncoder()
	selected := func(name string) bool { return o.only == "" || contains(strings.Split(o.only, ","), name) }

	var floors *floorSet
	if o.floors && (selected("list") || selected("list_skiptotal")) {
		if floors, err = startFloors(dir, o.dialect, dsn, s.base, seed.postsID); err != nil {
			return err
		}
		defer floors.stop()
	}
	for _, sc := range scenarios(seed) {
		if !selected(sc.name) {
			continue
		}
		workers := o.readers
		if sc.writes {
			workers = o.writers
		}
		if floors != nil && (sc.name == "list" || sc.name == "list_skiptotal") {
			for _, res := range floors.compare(ctx, client, s, sc.name, sc.path, workers, o.duration) {
				res.Dialect = o.dialect
				out(res)
			}
			out(floors.ratio(o.dialect, sc.name))
			continue
		}
		res := measure(s.cmd.Process.Pid, func() loadgen.Result {
			return loadgen.Run(ctx, client, sc.name, workers, o.duration, http.StatusOK, sc.request(s.base))
		})
		res.Dialect = o.dialect
		out(res)
	}
	if selected("realtime") {
		res, err := s.realtime(ctx, o, seed)
		if err != nil {
			return err
		}
		res.Dialect = o.dialect
		out(res)
	}
	rss, _ := peakRSS(s.cmd.Process.Pid)
	out(map[string]any{"summary": true, "dialect": o.dialect, "peak_rss_mb": float64(rss) / 1024, "data_mb": float64(dbSize()) / (1 << 20),
		"loadavg_before": strings.TrimSpace(string(load))})
	return nil
}

// listPath is the list request of the list scenarios and the floors.
var listPath = "/api/collections/posts/records?perPage=30&sort=-score&filter=" + url.QueryEscape("score > 100 && status = 'live'")

func scenarios(seed *seeded) []scenario {
	get := func(path string) func(string) loadgen.Request {
		return func(base string) loadgen.Request {
			return func(w, i int) (*http.Request, error) { return http.NewRequest(http.MethodGet, base+path, nil) }
		}
	}
	send := func(method string, path func(w, i int) string, body func(w, i int) string) func(string) loadgen.Request {
		return func(base string) loadgen.Request {
			return func(w, i int) (*http.Request, error) {
				r, err := http.NewRequest(method, base+path(w, i), strings.NewReader(body(w, i)))
				if err == nil {
					r.Header.Set("Content-Type", "application/json")
				}
				return r, err
			}
		}
	}
	randomID := func() string { return seed.ids[rand.IntN(len(seed.ids))] }
	fixed := func(name, path string) scenario { return scenario{name: name, path: path, request: get(path)} }
	return []scenario{
		fixed("list", listPath),
		fixed("list_skiptotal", listPath+"&skipTotal=1"),
		fixed("list_expand", listPath+"&expand=author"),
		{name: "view", request: func(base string) loadgen.Request {
			return func(w, i int) (*http.Request, error) {
				return http.NewRequest(http.MethodGet, base+"/api/collections/posts/records/"+randomID(), nil)
			}
		}},
		{name: "create", writes: true, request: send(http.MethodPost, func(int, int) string { return "/api/collections/posts/records" },
			func(w, i int) string {
				return fmt.Sprintf(`{"title":"bench %d-%d","score":%d,"status":"draft","author":"%s"}`, w, i, i%1000, seed.authorID)
			})},
		{name: "update", writes: true, request: send(http.MethodPatch, func(int, int) string { return "/api/collections/posts/records/" + randomID() },
			func(w, i int) string { return fmt.Sprintf(`{"title":"updated %d-%d"}`, w, i) })},
		{name: "auth_with_password", writes: true, request: send(http.MethodPost, func(int, int) string { return "/api/collections/users/auth-with-password" },
			func(int, int) string { return `{"identity":"` + seed.email + `","password":"Secret12345"}` })},
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

func jsonEncoder() func(v any) {
	enc := json.NewEncoder(os.Stdout)
	return func(v any) { _ = enc.Encode(v) }
}
