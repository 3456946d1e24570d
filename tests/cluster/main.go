// Command cluster runs a Hatchgrid cluster on this machine: N instances of
// `hatchgrid serve` on loopback ports, sharing one PostgreSQL schema, one
// Redis key prefix and one S3 bucket (an in-memory S3 API served by this
// process), as N machines behind a load balancer would. It is `make
// cluster` for a person to try, and the SDK cluster suite's launcher.
//
//	go run ./tests/cluster -bin bin/hatchgrid            # 3 instances on :8091-8093
//	go run ./tests/cluster -bin bin/hatchgrid -port 0 -json
//
// It creates a superuser, stores files in the S3 bucket through the
// settings API, prints where everything is (one JSON line with -json), and
// runs until interrupted; then it stops the instances and removes the
// schema, the Redis keys and the data directories it made.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/redis/go-redis/v9"
)

type options struct {
	bin      string
	n        int
	port     int
	pgURL    string
	redisURL string
	email    string
	password string
	claimDB  bool
	json     bool
	verbose  bool
}

// Info is what the launcher prints once every instance is healthy.
type Info struct {
	Instances   []Instance `json:"instances"`
	Superuser   Superuser  `json:"superuser"`
	S3          S3         `json:"s3"`
	Schema      string     `json:"schema"`
	RedisURL    string     `json:"redisUrl"`
	RedisPrefix string     `json:"redisPrefix"`
}

type Instance struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
	Dir string `json:"dir"`
}

type Superuser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type S3 struct {
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/hatchgrid", "the hatchgrid binary to run")
	flag.IntVar(&o.n, "n", 3, "how many instances")
	flag.IntVar(&o.port, "port", 8091, "port of the first instance, the others follow; 0 picks free ports")
	flag.StringVar(&o.pgURL, "pg-url", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL the instances share (a schema of their own is made in it)")
	flag.StringVar(&o.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis the instances share (under a key prefix of their own)")
	flag.StringVar(&o.email, "email", "admin@example.com", "superuser email")
	flag.StringVar(&o.password, "password", "Cluster12345", "superuser password")
	flag.BoolVar(&o.claimDB, "claim-redis-db", false, "claim an empty Redis database of the tests' pool (as Go tests do) instead of the one in -redis-url")
	flag.BoolVar(&o.json, "json", false, "print one JSON line describing the cluster once it is up")
	flag.BoolVar(&o.verbose, "v", false, "copy the instances' output to stderr")
	flag.Parse()
	if o.n < 1 || o.port < 0 {
		fmt.Fprintln(os.Stderr, "cluster: -n must be at least 1 and -port not negative")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = untilOrphaned(ctx)
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// untilOrphaned returns ctx, cancelled as well when the process that
// started the launcher goes away. A test runner that times out kills its
// test's process, not the launcher that process spawned; left running,
// the cluster's instances kept serving jobs from a Redis database whose
// claim then expired and that Go tests claimed next, running their jobs
// with the wrong handlers.
func untilOrphaned(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	parent := os.Getppid()
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				if os.Getppid() != parent {
					fmt.Fprintln(os.Stderr, "cluster: the process that started me is gone: stopping")
					return
				}
			}
		}
	}()
	return ctx
}

func run(ctx context.Context, o options) (err error) {
	var c cluster
	defer func() { err = errors.Join(err, c.close()) }()

	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("no hatchgrid binary at %s (run `make build` or pass -bin): %w", bin, err)
	}

	suffix := randomHex(5)
	info := Info{
		Superuser:   Superuser{o.email, o.password},
		Schema:      "hg_cluster_" + suffix,
		RedisURL:    o.redisURL,
		RedisPrefix: "hg_cluster_" + suffix,
	}
	dbURL, err := c.createSchema(ctx, o.pgURL, info.Schema)
	if err != nil {
		return err
	}
	if err := c.connectRedis(ctx, o.redisURL, info.RedisPrefix); err != nil {
		return err
	}
	if o.claimDB {
		if info.RedisURL, err = c.claimRedisDB(ctx, o.redisURL); err != nil {
			return err
		}
		go c.keepClaim(ctx)
	}
	info.S3, err = c.startS3()
	if err != nil {
		return err
	}

	env := append(withoutHG(os.Environ()),
		"HG_DATABASE_URL="+dbURL,
		"HG_REDIS_URL="+info.RedisURL,
		"HG_REDIS_PREFIX="+info.RedisPrefix,
	)
	ports, err := pickPorts(o.port, o.n)
	if err != nil {
		return err
	}
	for i, port := range ports {
		dir, err := os.MkdirTemp("", fmt.Sprintf("hg-cluster-%d-", i+1))
		if err != nil {
			return err
		}
		c.dirs = append(c.dirs, dir)
		if i == 0 {
			// Migrates the shared schema before any instance starts.
			cmd := exec.CommandContext(ctx, bin, "superuser", "upsert", o.email, o.password, "--dir", dir)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("superuser upsert: %w\n%s", err, out)
			}
		}
		inst, err := c.start(ctx, bin, dir, env, port, i+1, o.verbose)
		if err != nil {
			return err
		}
		info.Instances = append(info.Instances, inst)
	}
	for _, inst := range info.Instances {
		if err := waitHealthy(ctx, inst.URL, 30*time.Second); err != nil {
			return fmt.Errorf("%s: %w\n%s", inst.URL, err, c.output())
		}
	}
	if err := useS3(ctx, info); err != nil {
		return err
	}

	if o.json {
		b, _ := json.Marshal(info)
		fmt.Println(string(b))
	} else {
		fmt.Printf("Hatchgrid cluster of %d on PostgreSQL schema %s, Redis prefix %s, S3 %s/%s\n",
			o.n, info.Schema, info.RedisPrefix, info.S3.Endpoint, info.S3.Bucket)
		for i, inst := range info.Instances {
			fmt.Printf("  instance %d: %s  (dashboard %s/_/, pid %d)\n", i+1, inst.URL, inst.URL, inst.PID)
		}
		fmt.Printf("Superuser %s / %s. Ctrl-C stops the cluster and removes its data.\n", o.email, o.password)
	}

	select {
	case <-ctx.Done():
		return nil
	case e := <-c.exited:
		return fmt.Errorf("an instance exited: %v\n%s", e, c.output())
	}
}

// proc is a running instance; done is closed when it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// cluster holds what the launcher made, to undo on close.
type cluster struct {
	pgURL, schema string
	rdb           *redis.Client
	prefix        string
	claim         string // the claim key of the Redis database, if one was claimed
	claimed       *redis.Client
	s3            *http.Server
	procs         []proc
	dirs          []string
	exited        chan error
	mu            sync.Mutex
	out           bytes.Buffer
}

func (c *cluster) createSchema(ctx context.Context, pgURL, schema string) (string, error) {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL at %s: %w", redact(pgURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	c.pgURL, c.schema = pgURL, schema
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *cluster) connectRedis(ctx context.Context, redisURL, prefix string) error {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	c.rdb, c.prefix = redis.NewClient(opt), prefix
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("Redis at %s: %w", redisURL, err)
	}
	return nil
}

// redisTestDBs are the Redis databases tests claim, as core/coretest does:
// database 0 holds the claims "hatchgrid:test:db:<n>".
const redisTestDBs = 15

// claimRedisDB claims an empty database of redisURL's server, flushed now
// and on close, and returns its URL. The asynq queues have no key prefix, so
// a cluster under test must not share a database with anything else.
func (c *cluster) claimRedisDB(ctx context.Context, redisURL string) (string, error) {
	for db := 1; db <= redisTestDBs; db++ {
		key := fmt.Sprintf("hatchgrid:test:db:%d", db)
		ok, err := c.rdb.SetNX(ctx, key, "cluster:"+c.prefix, claimTTL).Result()
		if err != nil {
			return "", fmt.Errorf("claim a Redis database: %w", err)
		}
		if !ok {
			continue
		}
		c.claim = key
		opt := *c.rdb.Options()
		opt.DB = db
		c.claimed = redis.NewClient(&opt)
		if err := c.claimed.FlushDB(ctx).Err(); err != nil {
			return "", err
		}
		u, err := url.Parse(redisURL)
		if err != nil {
			return "", err
		}
		u.Path = "/" + strconv.Itoa(db)
		return u.String(), nil
	}
	return "", fmt.Errorf("all %d test databases of Redis are claimed", redisTestDBs)
}

// claimTTL is how long a claim of a Redis database lasts unless renewed:
// a launcher that dies without releasing its claim frees the database then.
const claimTTL = 10 * time.Minute

// keepClaim renews the claim of the Redis database every minute while the
// cluster runs, so that a cluster kept up longer than claimTTL keeps its
// database to itself.
func (c *cluster) keepClaim(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
			if err := c.rdb.Expire(ctx, c.claim, claimTTL).Err(); err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "cluster: renew the claim of the Redis database:", err)
			}
		}
	}
}

// startS3 serves an in-memory S3 API with one bucket on a loopback port.
func (c *cluster) startS3() (S3, error) {
	backend := s3mem.New()
	const bucket = "hatchgrid"
	if err := backend.CreateBucket(bucket); err != nil {
		return S3{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return S3{}, err
	}
	c.s3 = &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 10 * time.Second}
	go c.s3.Serve(ln)
	return S3{Endpoint: "http://" + ln.Addr().String(), Bucket: bucket}, nil
}

func (c *cluster) start(ctx context.Context, bin, dir string, env []string, port, n int, verbose bool) (Instance, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "serve", "--http", addr, "--dir", dir)
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return Instance{}, err
	}
	p := proc{cmd, make(chan struct{})}
	c.procs = append(c.procs, p)
	if c.exited == nil {
		c.exited = make(chan error, 16)
	}
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			line := fmt.Sprintf("[%d] %s\n", n, s.Text())
			c.mu.Lock()
			c.out.WriteString(line)
			if c.out.Len() > 1<<20 {
				c.out.Next(c.out.Len() - 1<<19)
			}
			c.mu.Unlock()
			if verbose {
				os.Stderr.WriteString(line)
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		close(p.done)
		if ctx.Err() == nil {
			c.exited <- fmt.Errorf("instance %d (%s): %v", n, addr, err)
		}
	}()
	return Instance{URL: "http://" + addr, PID: cmd.Process.Pid, Dir: dir}, nil
}

func (c *cluster) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// close stops the instances (SIGTERM, then SIGKILL after 15 s) and removes
// the schema, the Redis keys and the data directories.
func (c *cluster) close() error {
	var errs []error
	for _, p := range c.procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			errs = append(errs, fmt.Errorf("pid %d did not stop within 15 s", p.cmd.Process.Pid))
		}
	}
	if c.s3 != nil {
		c.s3.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c.schema != "" {
		if conn, err := pgx.Connect(ctx, c.pgURL); err != nil {
			errs = append(errs, err)
		} else {
			_, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS "`+c.schema+`" CASCADE`)
			errs = append(errs, err)
			conn.Close(ctx)
		}
	}
	if c.claimed != nil {
		errs = append(errs, c.claimed.FlushDB(ctx).Err(), c.claimed.Close(), c.rdb.Del(ctx, c.claim).Err())
	}
	if c.rdb != nil {
		iter := c.rdb.Scan(ctx, 0, c.prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.rdb.Del(ctx, iter.Val())
		}
		errs = append(errs, iter.Err(), c.rdb.Close())
	}
	for _, d := range c.dirs {
		errs = append(errs, os.RemoveAll(d))
	}
	return errors.Join(errs...)
}

// useS3 signs in as the superuser on the first instance and stores files
// in the bucket; the settings change reaches every instance through Redis.
func useS3(ctx context.Context, info Info) error {
	base := info.Instances[0].URL
	var auth struct {
		Token string `json:"token"`
	}
	if err := call(ctx, http.MethodPost, base+"/api/collections/_superusers/auth-with-password", "",
		map[string]string{"identity": info.Superuser.Email, "password": info.Superuser.Password}, &auth); err != nil {
		return fmt.Errorf("superuser sign-in: %w", err)
	}
	settings := map[string]any{"s3": map[string]any{
		"enabled": true, "bucket": info.S3.Bucket, "region": "us-east-1", "endpoint": info.S3.Endpoint,
		"accessKey": "cluster", "secret": "cluster-secret", "forcePathStyle": true,
	}}
	if err := call(ctx, http.MethodPatch, base+"/api/settings", auth.Token, settings, nil); err != nil {
		return fmt.Errorf("enable S3 storage: %w", err)
	}
	return nil
}

func call(ctx context.Context, method, url, token string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func waitHealthy(ctx context.Context, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, base+"/api/health", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				cancel()
				return nil
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not healthy within %s (last: %s)", timeout, last)
}

// pickPorts returns n ports from first on, or n free ones when first is 0.
func pickPorts(first, n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		if first != 0 {
			ports[i] = first + i
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		defer ln.Close()
	}
	return ports, nil
}

// withoutHG drops the HG_* variables of the caller's environment, so a
// developer's shell cannot leak configuration into the instances.
func withoutHG(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) < 3 || kv[:3] != "HG_" {
			out = append(out, kv)
		}
	}
	return out
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
