package core_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// runCron runs the cron entry's job at once (the app runs jobs inline).
func runCron(t *testing.T, app *core.App, name string) {
	t.Helper()
	if _, err := app.Jobs().Enqueue(context.Background(), core.CronJobType(name), nil); err != nil {
		t.Fatal(err)
	}
}

func TestBuiltinCronEntries(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	want := map[string]string{
		core.CronCleanupAuth:  "*/5 * * * *",
		core.CronCleanupLogs:  "@hourly",
		core.CronCleanupFiles: "@daily",
	}
	for _, e := range app.Cron().Entries() {
		if spec, ok := want[e.Name]; ok {
			if e.Spec != spec || e.JobType != core.CronJobType(e.Name) {
				t.Errorf("entry %+v, want spec %q", e, spec)
			}
			delete(want, e.Name)
		}
	}
	if len(want) > 0 {
		t.Fatalf("missing cron entries: %v", want)
	}
	types := app.Jobs().Types()
	for _, name := range []string{core.CronCleanupAuth, core.CronCleanupLogs, core.CronCleanupFiles} {
		if !slices.Contains(types, core.CronJobType(name)) {
			t.Errorf("job type %s not registered", core.CronJobType(name))
		}
	}
}

func TestCleanupAuthRemovesExpiredRows(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	c, err := app.Collections().Create(ctx, input(t, `{"name":"users","type":"auth",
		"otp":{"enabled":true,"duration":300},"mfa":{"enabled":true,"duration":600}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Auth.OTPOptions().Duration; got != 300 {
		t.Fatalf("otp duration = %d", got)
	}
	now := app.Now()
	ago := func(d time.Duration) string { return core.FormatTime(now.Add(-d)) }
	insert := func(table, id, col, created string) {
		t.Helper()
		row := map[string]any{"id": id, "collectionRef": col, "recordRef": "r1", "created": created, "updated": created}
		if table == "_otps" {
			row["password"], row["sentTo"] = "x", "a@b.c"
		} else {
			row["method"] = "password"
		}
		if err := app.DB(ctx).Table(table).Create(row).Error; err != nil {
			t.Fatal(err)
		}
	}
	insert("_otps", "otp_fresh", c.ID, ago(4*time.Minute))
	insert("_otps", "otp_stale", c.ID, ago(6*time.Minute))
	insert("_otps", "otp_unk_fresh", "gone_collection", ago(50*time.Minute))
	insert("_otps", "otp_unk_stale", "gone_collection", ago(70*time.Minute))
	insert("_mfas", "mfa_fresh", c.ID, ago(9*time.Minute))
	insert("_mfas", "mfa_stale", c.ID, ago(11*time.Minute))
	insert("_mfas", "mfa_unk_fresh", "gone_collection", ago(50*time.Minute))
	insert("_mfas", "mfa_unk_stale", "gone_collection", ago(70*time.Minute))

	ids := func(table string) []string {
		t.Helper()
		var out []string
		if err := app.DB(ctx).Table(table).Order("id").Pluck("id", &out).Error; err != nil {
			t.Fatal(err)
		}
		return out
	}
	for range 2 { // idempotent
		runCron(t, app, core.CronCleanupAuth)
		if got, want := ids("_otps"), []string{"otp_fresh", "otp_unk_fresh"}; !slices.Equal(got, want) {
			t.Fatalf("_otps = %v, want %v", got, want)
		}
		if got, want := ids("_mfas"), []string{"mfa_fresh", "mfa_unk_fresh"}; !slices.Equal(got, want) {
			t.Fatalf("_mfas = %v, want %v", got, want)
		}
	}
}

func TestCleanupLogsHonoursMaxDays(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	now := app.Now()
	for i, age := range []time.Duration{time.Hour, 4 * 24 * time.Hour, 6 * 24 * time.Hour, 30 * 24 * time.Hour} {
		l := &core.Log{ID: "log" + string(rune('a'+i)), Created: core.FormatTime(now.Add(-age)), Message: "GET /", Data: core.JSONRaw(`{}`)}
		if err := app.LogsDB(ctx).Create(l).Error; err != nil {
			t.Fatal(err)
		}
	}
	count := func() []string {
		var out []string
		if err := app.LogsDB(ctx).Table("_logs").Order("id").Pluck("id", &out).Error; err != nil {
			t.Fatal(err)
		}
		return out
	}
	s := app.Settings()
	s.Logs.MaxDays = 0
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	runCron(t, app, core.CronCleanupLogs)
	if got := count(); len(got) != 4 {
		t.Fatalf("maxDays 0 deleted logs: %v", got)
	}
	s.Logs.MaxDays = 5
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		runCron(t, app, core.CronCleanupLogs)
		if got, want := count(), []string{"loga", "logb"}; !slices.Equal(got, want) {
			t.Fatalf("logs = %v, want %v", got, want)
		}
	}
}

func TestCleanupFilesRemovesOrphans(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	c := expandCollection(t, app, `{"name":"docs","fields":[{"name":"title","type":"text"},{"name":"doc","type":"file"}]}`)
	live := expandRecord(t, app, c, map[string]any{"title": "kept", "doc": filesystem.NewFileFromBytes([]byte("hi"), "a.txt")})
	liveKeys, err := app.Files().List(ctx, c.ID+"/"+live.ID()+"/")
	if err != nil || len(liveKeys) != 1 {
		t.Fatalf("live files %v, %v", liveKeys, err)
	}
	local, ok := app.Files().(*filesystem.Local)
	if !ok {
		t.Skip("not a local store")
	}
	old := time.Now().Add(-2 * time.Hour)
	put := func(key string, aged bool) {
		t.Helper()
		if err := app.Files().Upload(ctx, key, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		if aged {
			if err := os.Chtimes(filepath.Join(local.Dir(), filepath.FromSlash(key)), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Age the live record's file too: it must stay for its record exists.
	if err := os.Chtimes(filepath.Join(local.Dir(), filepath.FromSlash(liveKeys[0])), old, old); err != nil {
		t.Fatal(err)
	}
	put(c.ID+"/deadrecord00001/old.txt", true)
	put(c.ID+"/deadrecord00001/thumbs_old.txt/50x50_old.txt", true)
	put(c.ID+"/deadrecord00002/young.txt", false) // an upload in flight
	put("deadcollection1/somerecord0001/old.txt", true)
	put("deadcollection2/somerecord0002/young.txt", false)

	want := []string{
		c.ID + "/deadrecord00002/young.txt",
		"deadcollection2/somerecord0002/young.txt",
		liveKeys[0],
	}
	slices.Sort(want)
	for range 2 {
		runCron(t, app, core.CronCleanupFiles)
		got, err := app.Files().List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("files = %v\nwant %v", got, want)
		}
	}
}
