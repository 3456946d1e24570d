package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
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
)

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

type server struct {
	cmd   *exec.Cmd
	base  string
	dir   string
	env   []string
	token string
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

// seeded is what the scenarios need to know of the seeded data.
type seeded struct {
	ids      []string // the posts
	authorID string
	email    string // a user's, whose password is Secret12345
	postsID  string // the posts collection's id
}

// seed creates the collections and records the scenarios use, through the
// public API.
func (s *server) seed(o options) (*seeded, error) {
	cli := exec.Command(o.bin, "superuser", "upsert", "bench@example.com", "Secret12345", "--dir", s.dir)
	cli.Env = s.env
	if out, err := cli.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("superuser upsert: %v: %s", err, out)
	}
	var auth struct{ Token string }
	if err := s.call("POST", "/api/collections/_superusers/auth-with-password", map[string]string{"identity": "bench@example.com", "password": "Secret12345"}, &auth); err != nil {
		return nil, err
	}
	s.token = auth.Token
	out := &seeded{email: "user@example.com"}
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
		var created struct{ ID, Name string }
		if err := s.call("POST", "/api/collections", c, &created); err != nil {
			return nil, err
		}
		if created.Name == "posts" {
			out.postsID = created.ID
		}
	}
	var author struct{ ID string }
	if err := s.call("POST", "/api/collections/authors/records", map[string]string{"name": "Ann"}, &author); err != nil {
		return nil, err
	}
	out.authorID = author.ID
	if err := s.call("POST", "/api/collections/users/records", map[string]string{"email": out.email, "password": "Secret12345", "passwordConfirm": "Secret12345"}, nil); err != nil {
		return nil, err
	}

	out.ids = make([]string, o.records)
	errs := make(chan error, 16)
	next := make(chan int, o.records)
	for i := 0; i < o.records; i++ {
		next <- i
	}
	close(next)
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
				out.ids[i] = rec.ID
			}
			errs <- nil
		}()
	}
	for w := 0; w < 16; w++ {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rss is the process's current resident memory in KiB.
func rss(pid int) (int64, error) { return procStatus(pid, "VmRSS:") }

// peakRSS is the process's high-water resident memory in KiB.
func peakRSS(pid int) (int64, error) { return procStatus(pid, "VmHWM:") }

// procStatus reads one KiB figure of /proc/<pid>/status.
func procStatus(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line)
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s", key)
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

// cpuTime is the user and system time process pid has used so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which ends at the last ")":
	// state is the first, utime the 12th and stime the 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// measure runs fn and records the CPU time process pid used meanwhile.
func measure(pid int, fn func() loadgen.Result) loadgen.Result {
	before := cpuTime(pid)
	res := fn()
	res.SetServerCPU(cpuTime(pid) - before)
	return res
}
