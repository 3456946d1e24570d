// Command hgbench starts a fresh Hatchgrid server, seeds it through the
// public API and measures its record operations, printing one JSON line
// per scenario plus one with the server's peak memory and data size.
//
//	make bench                       # both dialects, the figures in bench/README.md
//	go run ./bench/cmd/hgbench -bin bin/hatchgrid -dialect postgres -duration 5s
//
// It only ever talks to 127.0.0.1.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/hatchgrid", "hatchgrid binary to benchmark")
	flag.StringVar(&o.dialect, "dialect", "sqlite", "sqlite or postgres")
	flag.StringVar(&o.pgURL, "pg-url", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (a fresh schema is used)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "time per scenario")
	flag.IntVar(&o.readers, "read-concurrency", 32, "workers for read scenarios")
	flag.IntVar(&o.writers, "write-concurrency", 16, "workers for write scenarios")
	flag.IntVar(&o.records, "records", 20000, "posts to seed")
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run (default all)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "hgbench:", err)
		os.Exit(1)
	}
}

type server struct {
	cmd   *exec.Cmd
	base  string
	dir   string
	env   []string
	token string
}

func run(o options) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "hgbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	env := append(os.Environ(), "HG_LOG_LEVEL=warn")
	dbSize := func() int64 { n, _ := dirSize(dir); return n }
	if o.dialect == "postgres" {
		dsn, pg, err := pgSchema(o.pgURL)
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

	ids, authorID, userEmail, err := s.seed(ctx, o)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}
	listPath := "/api/collections/posts/records?perPage=30&sort=-score&filter=" + url.QueryEscape("score > 100 && status = 'live'")
	get := func(path string) loadgen.Request {
		return func(w, i int) (*http.Request, error) { return http.NewRequest(http.MethodGet, s.base+path, nil) }
	}
	json := func(method string, path func(w, i int) string, body func(w, i int) string) loadgen.Request {
		return func(w, i int) (*http.Request, error) {
			r, err := http.NewRequest(method, s.base+path(w, i), strings.NewReader(body(w, i)))
			if err == nil {
				r.Header.Set("Content-Type", "application/json")
			}
			return r, err
		}
	}
	randomID := func(int, int) string { return ids[rand.IntN(len(ids))] }
	scenarios := []struct {
		name    string
		writes  bool
		status  int
		request loadgen.Request
	}{
		{"list", false, 200, get(listPath)},
		{"list_skiptotal", false, 200, get(listPath + "&skipTotal=1")},
		{"list_expand", false, 200, get(listPath + "&expand=author")},
		{"view", false, 200, func(w, i int) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, s.base+"/api/collections/posts/records/"+randomID(w, i), nil)
		}},
		{"create", true, 200, json(http.MethodPost, func(int, int) string { return "/api/collections/posts/records" },
			func(w, i int) string {
				return fmt.Sprintf(`{"title":"bench %d-%d","score":%d,"status":"draft","author":"%s"}`, w, i, i%1000, authorID)
			})},
		{"update", true, 200, json(http.MethodPatch, func(w, i int) string { return "/api/collections/posts/records/" + randomID(w, i) },
			func(w, i int) string { return fmt.Sprintf(`{"title":"updated %d-%d"}`, w, i) })},
		{"auth_with_password", true, 200, json(http.MethodPost, func(int, int) string { return "/api/collections/users/auth-with-password" },
			func(int, int) string { return `{"identity":"` + userEmail + `","password":"Secret12345"}` })},
	}
	out := jsonEncoder()
	for _, sc := range scenarios {
		if o.only != "" && !contains(strings.Split(o.only, ","), sc.name) {
			continue
		}
		workers := o.readers
		if sc.writes {
			workers = o.writers
		}
		res := loadgen.Run(ctx, client, sc.name, workers, o.duration, sc.status, sc.request)
		res.Dialect = o.dialect
		out(res)
	}
	rss, _ := peakRSS(s.cmd.Process.Pid)
	out(map[string]any{"summary": true, "dialect": o.dialect, "peak_rss_mb": float64(rss) / 1024, "data_mb": float64(dbSize()) / (1 << 20)})
	return nil
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

type pgBench struct {
	db     *sql.DB
	schema string
}

// size is the bytes the schema's tables (indexes and TOAST included) take.
func (p *pgBench) size() int64 {
	var n int64
	_ = p.db.QueryRow(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = $1 AND c.relkind = 'r'`, p.schema).Scan(&n)
	return n
}

func (p *pgBench) drop() {
	_, _ = p.db.Exec(`DROP SCHEMA "` + p.schema + `" CASCADE`)
	p.db.Close()
}

// pgSchema creates a throwaway schema and returns a URL that uses it.
func pgSchema(base string) (string, *pgBench, error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("hgbench_%d", time.Now().UnixNano())
	if _, err := db.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
		db.Close()
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), &pgBench{db: db, schema: schema}, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func start(bin, dir string, env []string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--dir", data, "--http", addr)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr, dir: data, env: env}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(s.base + "/api/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
	}
	s.stop()
	return nil, fmt.Errorf("server did not start")
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// call sends one JSON request as the superuser and decodes the answer.
func (s *server) call(method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", s.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// seed creates the collections and records the scenarios use, through the
// public API, and returns the post ids, the author's id and a user's email.
func (s *server) seed(ctx context.Context, o options) (ids []string, authorID, email string, err error) {
	cli := exec.Command(o.bin, "superuser", "upsert", "bench@example.com", "Secret12345", "--dir", s.dir)
	cli.Env = s.env
	if out, err := cli.CombinedOutput(); err != nil {
		return nil, "", "", fmt.Errorf("superuser upsert: %v: %s", err, out)
	}
	var auth struct{ Token string }
	if err := s.call("POST", "/api/collections/_superusers/auth-with-password", map[string]string{"identity": "bench@example.com", "password": "Secret12345"}, &auth); err != nil {
		return nil, "", "", err
	}
	s.token = auth.Token
	open := ""
	for _, c := range []map[string]any{
		{"name": "authors", "listRule": open, "viewRule": open, "fields": []any{map[string]any{"name": "name", "type": "text"}}},
		{"name": "posts", "listRule": open, "viewRule": open, "createRule": open, "updateRule": open,
			"fields": []any{
				map[string]any{"name": "title", "type": "text", "required": true},
				map[string]any{"name": "score", "type": "number"},
				map[string]any{"name": "status", "type": "select", "values": []string{"draft", "live"}},
				map[string]any{"name": "author", "type": "relation", "collectionId": "authors"},
			},
			"indexes": []string{"CREATE INDEX idx_posts_score ON posts (score)"}},
		{"name": "users", "type": "auth", "createRule": open},
	} {
		if err := s.call("POST", "/api/collections", c, nil); err != nil {
			return nil, "", "", err
		}
	}
	var author struct{ ID string }
	if err := s.call("POST", "/api/collections/authors/records", map[string]string{"name": "Ann"}, &author); err != nil {
		return nil, "", "", err
	}
	email = "user@example.com"
	if err := s.call("POST", "/api/collections/users/records", map[string]string{"email": email, "password": "Secret12345", "passwordConfirm": "Secret12345"}, nil); err != nil {
		return nil, "", "", err
	}

	ids = make([]string, o.records)
	errs := make(chan error, 16)
	next := make(chan int)
	go func() {
		for i := 0; i < o.records; i++ {
			next <- i
		}
		close(next)
	}()
	for w := 0; w < 16; w++ {
		go func() {
			for i := range next {
				var rec struct{ ID string }
				status := "live"
				if i%10 == 0 {
					status = "draft"
				}
				body := map[string]any{"title": "post " + strconv.Itoa(i), "score": i, "status": status, "author": author.ID}
				if err := s.call("POST", "/api/collections/posts/records", body, &rec); err != nil {
					errs <- err
					return
				}
				ids[i] = rec.ID
			}
			errs <- nil
		}()
	}
	for w := 0; w < 16; w++ {
		if err := <-errs; err != nil {
			return nil, "", "", err
		}
	}
	return ids, author.ID, email, nil
}

// peakRSS is the process's high-water resident memory in KiB.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM")
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n, err
}
