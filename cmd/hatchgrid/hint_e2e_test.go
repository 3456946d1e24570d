package main_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestSuperuserHintIsPasteable: in PostgreSQL mode the banner's superuser
// command, pasted into a shell without the server's environment, creates
// a superuser the server knows; it never prints the database password.
// Run as the old banner printed it (no database URL), the command refuses
// instead of creating a SQLite database in the data dir.
func TestSuperuserHintIsPasteable(t *testing.T) {
	t.Parallel()
	// A fresh schema, in a URL with a password: the shared server trusts
	// local connections, so any password signs in.
	newURL := func(t *testing.T) string {
		schema := coretest.NewPostgresSchema(t)
		withPassword := strings.Replace(schema, "postgres://postgres@", "postgres://postgres:s3cret-pw@", 1)
		if withPassword == schema {
			t.Fatalf("unexpected test URL %s", schema)
		}
		return withPassword
	}

	t.Run("HG_DATABASE_URL", func(t *testing.T) {
		withPassword := newURL(t)
		dir := filepath.Join(t.TempDir(), "data")
		s := startServer(t, dir, []string{"HG_DATABASE_URL=" + withPassword})
		line := pasteHint(t, s, map[string]string{"DB_PASSWORD": "s3cret-pw"}, "hint1@example.com")
		if !strings.HasPrefix(line, "HG_DATABASE_URL=") || !strings.Contains(s.stdout.String(), "DB_PASSWORD stands for the database password") {
			t.Fatalf("hint %q\n%s", line, s.stdout.String())
		}
		naive := exec.Command(binary, "superuser", "upsert", "x@example.com", "Secret12345", "--dir", dir)
		naive.Env = withoutHG(os.Environ())
		out, err := naive.CombinedOutput()
		if naive.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "was used with PostgreSQL") {
			t.Fatalf("superuser upsert without the database URL: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "data.db")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a SQLite database was created in the data dir: %v", err)
		}
		s.stop(t)
	})
	t.Run("--config", func(t *testing.T) {
		withPassword := newURL(t)
		dir := filepath.Join(t.TempDir(), "data")
		conf := filepath.Join(t.TempDir(), "hatchgrid.yaml")
		if err := os.WriteFile(conf, []byte("database:\n  url: "+withPassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := startServer(t, dir, nil, "--config", conf)
		line := pasteHint(t, s, nil, "hint2@example.com")
		if !strings.Contains(line, "--config "+conf) || strings.Contains(line, "HG_DATABASE_URL") {
			t.Fatalf("hint %q", line)
		}
		s.stop(t)
	})
}

// pasteHint finds the banner's superuser command, runs it in a shell with
// no HG_* variables (EMAIL, PASSWORD and the placeholders in fill
// replaced) and signs in to s with the superuser it made.
func pasteHint(t *testing.T, s *server, fill map[string]string, email string) string {
	t.Helper()
	out := s.stdout.String() + s.stderr.String()
	if strings.Contains(out, "s3cret-pw") {
		t.Fatalf("the database password was printed:\n%s", out)
	}
	var line string
	for _, l := range strings.Split(s.stdout.String(), "\n") {
		if strings.Contains(l, "superuser upsert EMAIL PASSWORD") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		t.Fatalf("no superuser command in the banner:\n%s", s.stdout.String())
	}
	cmdline := line
	for k, v := range fill {
		cmdline = strings.ReplaceAll(cmdline, k, v)
	}
	cmdline = strings.Replace(cmdline, "hatchgrid superuser upsert EMAIL PASSWORD", binary+" superuser upsert "+email+" Secret12345", 1)
	sh := exec.Command("sh", "-c", cmdline)
	sh.Env = withoutHG(os.Environ())
	if b, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("pasted %q: %v\n%s", cmdline, err, b)
	}
	code, body := call(t, s, "POST", "/api/collections/_superusers/auth-with-password",
		fmt.Sprintf(`{"identity":%q,"password":"Secret12345"}`, email), "")
	if code != http.StatusOK {
		t.Fatalf("sign in as the superuser the pasted command made: %d %s", code, body)
	}
	return line
}

// withoutHG is env without Hatchgrid's variables: a new shell.
func withoutHG(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HG_") {
			out = append(out, kv)
		}
	}
	return out
}
