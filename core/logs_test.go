package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestRequestLogsStoredListedAndPruned(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	now := time.Now().UTC()
	for i := 0; i < 5; i++ {
		app.Logs().AddRequest(&core.RequestLog{
			Method: "GET", URL: "/api/x", Status: 200, UserIP: "10.0.0.1", AuthID: "secretid",
			Level: slog.LevelInfo, Time: now.Add(time.Duration(i) * time.Second),
		})
	}
	app.Logs().AddRequest(&core.RequestLog{Method: "POST", URL: "/old", Status: 500, Level: slog.LevelError, Time: now.AddDate(0, 0, -10)})
	if err := app.Logs().Flush(ctx); err != nil {
		t.Fatal(err)
	}

	page, err := app.Logs().List(ctx, core.LogQuery{ListParams: core.ListParams{Page: 1, PerPage: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalItems != 6 || page.TotalPages != 3 || len(page.Items) != 2 {
		t.Fatalf("page = %+v", page)
	}
	newest := page.Items[0]
	if newest.Message != "GET /api/x" || newest.Created != core.FormatTime(now.Add(4*time.Second)) {
		t.Fatalf("newest = %+v", newest)
	}
	var data map[string]any
	if err := json.Unmarshal(newest.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data["type"] != "request" || data["status"] != float64(200) || data["userIP"] != "10.0.0.1" {
		t.Fatalf("data = %v", data)
	}
	if _, ok := data["authId"]; ok {
		t.Fatal("authId stored although logs.logAuthId is off")
	}

	skip, err := app.Logs().List(ctx, core.LogQuery{ListParams: core.ListParams{Page: 3, PerPage: 2, SkipTotal: true}})
	if err != nil || skip.TotalItems != -1 || len(skip.Items) != 2 {
		t.Fatalf("skipTotal page = %+v, %v", skip, err)
	}

	got, err := app.Logs().FindByID(ctx, newest.ID)
	if err != nil || got.ID != newest.ID {
		t.Fatalf("FindByID: %v", err)
	}
	if _, err := app.Logs().FindByID(ctx, "missing"); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("FindByID(missing): %v", err)
	}

	stats, err := app.Logs().Stats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range stats {
		total += s.Total
		if len(s.Date) != len("2006-01-02 15:00:00.000Z") || s.Date[14:] != "00:00.000Z" {
			t.Errorf("stat date %q is not an hour", s.Date)
		}
	}
	if total != 6 || len(stats) < 2 {
		t.Fatalf("stats = %+v", stats)
	}

	n, err := app.Logs().DeleteOlderThan(ctx, now.AddDate(0, 0, -5))
	if err != nil || n != 1 {
		t.Fatalf("DeleteOlderThan = %d, %v; want 1", n, err)
	}
}

func TestRequestLogsFollowSettings(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	s := app.Settings()
	s.Logs.LogIP = false
	s.Logs.LogAuthID = true
	s.Logs.MinLevel = int(slog.LevelWarn)
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	app.Logs().AddRequest(&core.RequestLog{Method: "GET", URL: "/info", Level: slog.LevelInfo, Time: time.Now()})
	app.Logs().AddRequest(&core.RequestLog{Method: "GET", URL: "/err", UserIP: "1.2.3.4", AuthID: "abc", Level: slog.LevelError, Time: time.Now()})

	dropped := false
	app.OnRequestLogCreate().BindFunc(func(e *core.RequestLogEvent) error {
		if e.Log.URL == "/hooked" {
			dropped = true
			return nil // not calling Next drops the entry
		}
		return e.Next()
	})
	app.Logs().AddRequest(&core.RequestLog{Method: "GET", URL: "/hooked", Level: slog.LevelError, Time: time.Now()})
	if err := app.Logs().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := app.Logs().List(ctx, core.LogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || !dropped {
		t.Fatalf("items = %d (want only the error one), hook ran = %v", len(page.Items), dropped)
	}
	var data map[string]any
	_ = json.Unmarshal(page.Items[0].Data, &data)
	if _, ok := data["userIP"]; ok || data["authId"] != "abc" {
		t.Fatalf("data = %v: want no IP and the auth id", data)
	}

	s.Logs.MaxDays = 0 // off
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	app.Logs().AddRequest(&core.RequestLog{Method: "GET", URL: "/off", Level: slog.LevelError, Time: time.Now()})
	_ = app.Logs().Flush(ctx)
	if page, _ := app.Logs().List(ctx, core.LogQuery{}); page.TotalItems != 1 {
		t.Fatalf("a log was stored with logs.maxDays = 0")
	}
}

func TestLogsFilterAndSort(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for i, status := range []int{200, 404, 500, 200} {
		level := slog.LevelInfo
		if status >= 400 {
			level = slog.LevelError
		}
		app.Logs().AddRequest(&core.RequestLog{Method: "GET", URL: fmt.Sprintf("/api/x/%d", i), Status: status, Level: level, Time: now.Add(time.Duration(i) * time.Second)})
	}
	if err := app.Logs().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter, sort string
		want         []string
	}{
		{"level > 0", "created", []string{"GET /api/x/1", "GET /api/x/2"}},
		{"data.status = 200", "-created", []string{"GET /api/x/3", "GET /api/x/0"}},
		{"message ~ 'x/2' || data.status >= 500", "", []string{"GET /api/x/2"}},
		{"", "message", []string{"GET /api/x/0", "GET /api/x/1", "GET /api/x/2", "GET /api/x/3"}},
	}
	for _, c := range cases {
		page, err := app.Logs().List(ctx, core.LogQuery{Filter: c.filter, Sort: c.sort})
		if err != nil {
			t.Fatalf("%q: %v", c.filter, err)
		}
		var got []string
		for _, l := range page.Items {
			got = append(got, l.Message)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("filter %q sort %q: %v, want %v", c.filter, c.sort, got, c.want)
		}
	}
	for _, bad := range []core.LogQuery{{Filter: "nope = 1"}, {Filter: "level >"}, {Sort: "nope"}, {Filter: "data.a b = 1"}} {
		if _, err := app.Logs().List(ctx, bad); core.ErrorCodeOf(err) != core.CodeInvalid {
			t.Errorf("%+v: err = %v, want a 400", bad, err)
		}
	}
	stats, err := app.Logs().Stats(ctx, "level > 0")
	if err != nil || len(stats) == 0 || stats[0].Total != 2 {
		t.Fatalf("filtered stats = %+v, %v", stats, err)
	}
}
