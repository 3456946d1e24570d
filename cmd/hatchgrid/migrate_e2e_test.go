package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// runCLI runs the binary and fails the test unless it exits 0.
func runCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hatchgrid %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// signIn makes a superuser in dir and returns a token for it from s.
func signIn(t *testing.T, s *server, dir string, env []string) string {
	t.Helper()
	runCLI(t, env, "superuser", "upsert", "root@example.com", "Secret12345", "--dir", dir)
	code, body := call(t, s, "POST", "/api/collections/_superusers/auth-with-password",
		`{"identity":"root@example.com","password":"Secret12345"}`, "")
	if code != 200 {
		t.Fatalf("sign in: %d %s", code, body)
	}
	var auth struct{ Token string }
	json.Unmarshal([]byte(body), &auth)
	return auth.Token
}

// collections returns GET /api/collections without the created and
// updated times, for comparing two instances.
func collections(t *testing.T, s *server, token string) string {
	t.Helper()
	code, body := call(t, s, "GET", "/api/collections?perPage=500&sort=name", "", token)
	if code != 200 {
		t.Fatalf("list collections: %d %s", code, body)
	}
	var page struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Items {
		delete(c, "created")
		delete(c, "updated")
	}
	b, _ := json.MarshalIndent(page.Items, "", " ")
	return string(b)
}

func mustCall(t *testing.T, s *server, method, path, body, token string) string {
	t.Helper()
	code, reply := call(t, s, method, path, body, token)
	if code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, code, reply)
	}
	return reply
}

// TestDevChangesReplayFromMigrationFiles: with serve --dev, collection
// changes made through the API write one migration file each beside the
// data dir; a fresh data dir plus that folder ends with the same
// collections, on SQLite (migrate up, then serve) and, when testing
// PostgreSQL, on a fresh schema too (serve applies them itself).
func TestDevChangesReplayFromMigrationFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	srcDir := filepath.Join(root, "src", "hg_data")
	migDir := filepath.Join(root, "src", "hg_migrations")
	env := append(dbEnv(t), "HG_LOG_LEVEL=warn")

	s := startServer(t, srcDir, env, "--dev")
	token := signIn(t, s, srcDir, env)
	mustCall(t, s, "POST", "/api/collections", `{"name":"members","type":"auth","fields":[{"name":"nick","type":"text","max":40}],"listRule":"id = @request.auth.id"}`, token)
	mustCall(t, s, "POST", "/api/collections", `{"name":"posts","fields":[{"name":"title","type":"text","required":true}],"viewRule":""}`, token)
	mustCall(t, s, "POST", "/api/collections", `{"name":"tags","fields":[{"name":"label","type":"text"}]}`, token)
	var posts map[string]any
	json.Unmarshal([]byte(mustCall(t, s, "GET", "/api/collections/posts", "", token)), &posts)
	var members map[string]any
	json.Unmarshal([]byte(mustCall(t, s, "GET", "/api/collections/members", "", token)), &members)
	posts["fields"] = append(posts["fields"].([]any),
		map[string]any{"name": "views", "type": "number", "onlyInt": true},
		map[string]any{"name": "author", "type": "relation", "collectionId": members["id"], "maxSelect": 1})
	posts["listRule"] = "views > 0 && author = @request.auth.id"
	posts["indexes"] = []string{"CREATE INDEX `idx_posts_title` ON `posts` (`title`)"}
	body, _ := json.Marshal(posts)
	mustCall(t, s, "PATCH", "/api/collections/posts", string(body), token)
	mustCall(t, s, "DELETE", "/api/collections/tags", "", token)
	want := collections(t, s, token)
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.stderr.String())
	}

	entries, err := os.ReadDir(migDir)
	if err != nil {
		t.Fatalf("no migrations dir beside the data dir: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, regexp.MustCompile(`^\d+_`).ReplaceAllString(e.Name(), ""))
	}
	if got := strings.Join(names, " "); got != "created_members.json created_posts.json created_tags.json updated_posts.json deleted_tags.json" {
		t.Fatalf("migration files: %s", got)
	}

	// Where they were written, the files count as applied already.
	if out := runCLI(t, env, "migrate", "status", "--dir", srcDir, "--migrationsDir", migDir); strings.Count(out, ".json") != 5 || strings.Contains(out, "pending") {
		t.Fatalf("status on the source:\n%s", out)
	}

	// A fresh SQLite data dir: migrate up, then serve (which finds nothing
	// pending) shows the same collections.
	sqliteDir := filepath.Join(root, "sqlite", "hg_data")
	if out := runCLI(t, nil, "migrate", "up", "--dir", sqliteDir, "--migrationsDir", migDir); len(regexp.MustCompile(`(?m)^Applied \d+_\w+\.json$`).FindAllString(out, -1)) != 5 {
		t.Fatalf("migrate up:\n%s", out)
	}
	replica := startServer(t, sqliteDir, []string{"HG_LOG_LEVEL=warn"}, "--migrationsDir", migDir)
	if got := collections(t, replica, signIn(t, replica, sqliteDir, nil)); got != want {
		t.Fatalf("SQLite replay differs\n got: %s\nwant: %s", got, want)
	}
	replica.stop(t)

	if coretest.Dialect() != "postgres" {
		return
	}
	pgDir := filepath.Join(root, "pg", "hg_data")
	pgEnv := append(dbEnv(t), "HG_LOG_LEVEL=info")
	replica = startServer(t, pgDir, pgEnv, "--migrationsDir", migDir)
	if n := strings.Count(replica.stderr.String(), ".json"); n != 5 {
		t.Fatalf("serve applied %d migration files, want 5\n%s", n, replica.stderr.String())
	}
	if got := collections(t, replica, signIn(t, replica, pgDir, pgEnv)); got != want {
		t.Fatalf("PostgreSQL replay differs\n got: %s\nwant: %s", got, want)
	}
	replica.stop(t)
}
