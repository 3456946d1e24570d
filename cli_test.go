package hatchgrid_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// cli runs the command line with its own environment and returns the exit
// status and both outputs.
type cli struct {
	t   *testing.T
	env []string
}

func newCLI(t *testing.T) *cli {
	c := &cli{t: t}
	if coretest.Dialect() == "postgres" {
		c.env = append(c.env, "HG_DATABASE_URL="+coretest.NewPostgresSchema(t))
	}
	return c
}

func (c *cli) run(args ...string) (int, string, string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	h := hatchgrid.New(
		hatchgrid.WithOutput(&out, &errOut),
		hatchgrid.WithEnviron(func() []string { return c.env }),
		hatchgrid.WithAppOptions(core.WithLogger(discardLogger())),
	)
	code := h.ExecuteArgs(args)
	return code, out.String(), errOut.String()
}

func TestSuperuserCommands(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	dir := t.TempDir()

	if code, out, errOut := c.run("superuser", "upsert", "a@b.co", "Secret12345", "--dir", dir); code != 0 || !strings.Contains(out, "Saved superuser a@b.co") {
		t.Fatalf("upsert: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := c.run("superuser", "upsert", "a@b.co", "Another12345", "--dir", dir); code != 0 {
		t.Fatalf("second upsert: %d %s", code, errOut)
	}
	if code, _, errOut := c.run("superuser", "create", "a@b.co", "Another12345", "--dir", dir); code != 1 || !strings.Contains(errOut, "email: Value must be unique.") {
		t.Fatalf("create duplicate: %d %s", code, errOut)
	}
	if code, _, errOut := c.run("superuser", "update", "nobody@b.co", "Another12345", "--dir", dir); code != 1 || !strings.Contains(errOut, "wasn't found") {
		t.Fatalf("update missing: %d %s", code, errOut)
	}
	if code, _, errOut := c.run("superuser", "upsert", "bad", "x", "--dir", dir); code != 1 || !strings.Contains(errOut, "Must be a valid email address.") {
		t.Fatalf("invalid: %d %s", code, errOut)
	}
	if code, _, _ := c.run("superuser", "upsert", "only-email", "--dir", dir); code != 2 {
		t.Fatalf("missing argument: exit %d, want 2", code)
	}

	// One row, with the second password.
	app := openApp(t, c, dir)
	if n, _ := app.Superusers().Count(context.Background()); n != 1 {
		t.Fatalf("%d superusers, want 1", n)
	}
	col, _ := app.Collections().Find(core.SuperusersCollectionName)
	if _, err := app.Auth().AuthWithPassword(context.Background(), col, "a@b.co", "Another12345", ""); err != nil {
		t.Fatalf("second password: %v", err)
	}
	app.Shutdown(context.Background())

	if code, _, errOut := c.run("superuser", "delete", "a@b.co", "--dir", dir); code != 0 {
		t.Fatalf("delete: %d %s", code, errOut)
	}
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	dir := t.TempDir()

	code, out, _ := c.run("migrate", "status", "--dir", dir)
	all := len(migrations.All())
	if code != 0 || strings.Count(out, "pending") != all {
		t.Fatalf("status on a new dir: %d\n%s", code, out)
	}
	if code, out, _ := c.run("migrate", "up", "--dir", dir); code != 0 || strings.Count(out, "Applied") != all {
		t.Fatalf("up: %d\n%s", code, out)
	}
	if code, out, _ := c.run("migrate", "up", "--dir", dir); code != 0 || !strings.Contains(out, "No pending migrations.") {
		t.Fatalf("second up: %d\n%s", code, out)
	}
	if code, out, _ := c.run("migrate", "down", "--dir", dir); code != 0 || strings.Count(out, "Reverted") != 1 {
		t.Fatalf("down: %d\n%s", code, out)
	}
	if code, out, _ := c.run("migrate", "status", "--dir", dir); code != 0 || strings.Count(out, "pending") != 1 {
		t.Fatalf("status after down: %d\n%s", code, out)
	}
	if code, _, _ := c.run("migrate", "down", "zero", "--dir", dir); code != 2 {
		t.Fatalf("down zero: exit %d, want 2", code)
	}

	gen := t.TempDir()
	if code, out, errOut := c.run("migrate", "create", "add_things", "--migrationsDir", gen); code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(gen, "*_add_things.go"))
	if len(files) != 1 {
		t.Fatalf("created files = %v", files)
	}
	src, _ := os.ReadFile(files[0])
	if !strings.Contains(string(src), "func addThings() migrations.Migration") {
		t.Fatalf("template:\n%s", src)
	}
	if code, _, _ := c.run("migrate", "create", "Bad-Name!", "--migrationsDir", gen); code != 2 {
		t.Fatalf("bad name: exit %d, want 2", code)
	}
}

func TestConfigErrorsExit2WithoutTouchingDisk(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	malformed := filepath.Join(base, "malformed.yaml")
	os.WriteFile(malformed, []byte("http: [oops\n"), 0o644)
	unknown := filepath.Join(base, "unknown.yaml")
	os.WriteFile(unknown, []byte("htp: 127.0.0.1:1\n"), 0o644)

	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad HG_HTTP", []string{"HG_HTTP=notaport"}, nil, "http (HG_HTTP)"},
		{"bad --http", nil, []string{"--http", "x:y:z"}, "http (--http)"},
		{"malformed file", nil, []string{"--config", malformed}, "malformed.yaml"},
		{"unknown key", nil, []string{"--config", unknown}, "htp"},
		{"bad level", []string{"HG_LOG_LEVEL=chatty"}, nil, "log.level"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "_"))
			c := &cli{t: t, env: tc.env}
			code, _, errOut := c.run(append([]string{"serve", "--dir", dir}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 naming %q", code, errOut, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("data dir was created: %v", err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	c := &cli{t: t}
	if code, out, _ := c.run("version"); code != 0 || !strings.HasPrefix(out, "hatchgrid ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func openApp(t *testing.T, c *cli, dir string) *core.App {
	t.Helper()
	cfg, err := core.LoadConfig(core.LoadOptions{Environ: func() []string { return append(c.env, "HG_DATA_DIR="+dir) }})
	if err != nil {
		t.Fatal(err)
	}
	app := core.New(cfg, core.WithLogger(discardLogger()))
	if err := app.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestShellQuoteSurvivesTheShell(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"/srv/hg data", "it's", "postgres://u:DB_PASSWORD@h:5432/d?sslmode=disable&search_path=x", `$HOME"; rm -rf /`, "/plain/path"} {
		out, err := exec.Command("sh", "-c", "printf %s "+hatchgrid.ShellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("quoted %q came out of sh as %q (%v)", s, out, err)
		}
	}
}
