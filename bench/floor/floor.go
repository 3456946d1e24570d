// Package floor holds the baselines Hatchgrid's list benchmark is measured
// against: two minimal servers that answer the bench's list request with
// the least work that can still be called an answer.
//
//   - The HTTP floor writes a precomputed body (Hatchgrid's own answer, so
//     the same bytes): it is what net/http and the load generator cost.
//   - The database floor runs the list request's SQL (the page query, and
//     for the totals variant its COUNT) through database/sql on the same
//     database Hatchgrid serves, and encodes the rows with encoding/json in
//     PocketBase's list shape: it is what the database adds.
//
// Each runs as its own process, as Hatchgrid does, so that the three
// compete for the machine's cores the same way.
package floor

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the driver Hatchgrid uses on PostgreSQL
	_ "github.com/mattn/go-sqlite3"    // the driver Hatchgrid uses on SQLite
)

// The list request's filter, sort and page, as Hatchgrid compiles
// "score > 100 && status = 'live'", "-score" and perPage=30 (the same
// statement text and arguments; placeholders per dialect).
const (
	listWhere = `(("posts"."score" > ? AND "posts"."status" = ?))`
	listPage  = `SELECT "posts"."id", "posts"."title", "posts"."score", "posts"."status", "posts"."author" FROM "posts" WHERE ` +
		listWhere + ` ORDER BY "posts"."score" DESC LIMIT ? OFFSET ?`
	listCount = `SELECT COUNT(*) FROM "posts" WHERE ` + listWhere
	perPage   = 30
)

var listArgs = []any{float64(100), "live"}

// ServeHTTPFloor answers every request on ln with body, or with
// skipTotal's body when the query has skipTotal set, until the process is
// told to stop.
func ServeHTTPFloor(ln net.Listener, body, skipTotal []byte) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("skipTotal") != "" {
			_, _ = w.Write(skipTotal)
			return
		}
		_, _ = w.Write(body)
	})
	return serve(ln, h)
}

// DB is the database floor's handle on the bench's database.
type DB struct {
	db             *sql.DB
	page, count    string
	collectionID   string
	collectionName string
}

// OpenDB opens the bench server's database read-only: on SQLite the data
// file (path) with Hatchgrid's driver and pragmas and a pool of the size
// Hatchgrid gives its readers; on PostgreSQL the URL (whose search_path
// names the bench's schema) with a pool of Hatchgrid's default size.
func OpenDB(dialect, dsn, collectionID string) (*DB, error) {
	d := &DB{page: listPage, count: listCount, collectionID: collectionID, collectionName: "posts"}
	var conns int
	switch dialect {
	case "sqlite":
		var err error
		// Hatchgrid's reader pragmas (statement cache included), read-only.
		d.db, err = sql.Open("sqlite3", "file:"+dsn+"?mode=ro&_query_only=1&_busy_timeout=10000&_cache_size=-16000&_stmt_cache_size=64")
		if err != nil {
			return nil, err
		}
		conns = max(4, 2*runtime.GOMAXPROCS(0))
	case "postgres":
		var err error
		d.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		d.page, d.count = numbered(listPage), numbered(listCount)
		conns = max(10, 4*runtime.GOMAXPROCS(0))
	default:
		return nil, fmt.Errorf("unknown dialect %q", dialect)
	}
	d.db.SetMaxOpenConns(conns)
	d.db.SetMaxIdleConns(conns)
	if err := d.db.Ping(); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

// numbered turns ? placeholders into PostgreSQL's $1, $2, ...
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close closes the pool.
func (d *DB) Close() error { return d.db.Close() }

// item is one post as the list answers it: PocketBase's keys, in the
// order Hatchgrid writes them (sorted).
type item struct {
	Author         string  `json:"author"`
	CollectionID   string  `json:"collectionId"`
	CollectionName string  `json:"collectionName"`
	ID             string  `json:"id"`
	Score          float64 `json:"score"`
	Status         string  `json:"status"`
	Title          string  `json:"title"`
}

type page struct {
	Items      []item `json:"items"`
	Page       int    `json:"page"`
	PerPage    int    `json:"perPage"`
	TotalItems int64  `json:"totalItems"`
	TotalPages int64  `json:"totalPages"`
}

// List runs the list request's statements and returns its page.
func (d *DB) List(ctx context.Context, skipTotal bool) (*page, error) {
	p := &page{Items: []item{}, Page: 1, PerPage: perPage, TotalItems: -1, TotalPages: -1}
	if !skipTotal {
		if err := d.db.QueryRowContext(ctx, d.count, listArgs...).Scan(&p.TotalItems); err != nil {
			return nil, err
		}
		p.TotalPages = (p.TotalItems + perPage - 1) / perPage
	}
	rows, err := d.db.QueryContext(ctx, d.page, append(listArgs[:len(listArgs):len(listArgs)], perPage, 0)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		it := item{CollectionID: d.collectionID, CollectionName: d.collectionName}
		if err := rows.Scan(&it.ID, &it.Title, &it.Score, &it.Status, &it.Author); err != nil {
			return nil, err
		}
		p.Items = append(p.Items, it)
	}
	return p, rows.Err()
}

// ServeDBFloor answers every request on ln with d's list page, the COUNT
// skipped when the query has skipTotal set.
func ServeDBFloor(ln net.Listener, d *DB) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.List(r.Context(), r.URL.Query().Get("skipTotal") != "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	})
	return serve(ln, h)
}

// serve runs h on ln until SIGTERM or SIGINT.
func serve(ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
