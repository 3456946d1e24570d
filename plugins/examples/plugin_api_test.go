package examples_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/labstack/echo/v4"
)

// guestbook is a plugin written the way an application would: a hook that
// refuses entries with a banned word, a job that marks each entry checked
// once its create commits, a cron entry that counts heartbeats and a route
// that shows them.
type guestbook struct {
	banned string

	app   *core.App
	beats atomic.Int64
}

func (p *guestbook) Name() string { return "guestbook" }

func (p *guestbook) Register(app *core.App) error {
	p.app = app
	app.OnRecordCreate("entries").BindFunc(func(e *core.RecordEvent) error {
		if strings.Contains(strings.ToLower(e.Record.GetString("text")), p.banned) {
			return core.Invalid("Failed to create record.", map[string]core.FieldError{
				"text": {Code: "validation_banned_word", Message: "Must not contain " + p.banned + "."},
			})
		}
		if err := e.Next(); err != nil {
			return err
		}
		// In the record's transaction: the job exists only if the entry
		// does.
		_, err := app.Jobs().EnqueueTx(e.Context, "guestbook.check", map[string]string{"id": e.Record.ID()})
		return err
	})
	app.Jobs().Register("guestbook.check", func(ctx context.Context, job *core.Job) error {
		var in struct{ ID string }
		if err := job.Decode(&in); err != nil {
			return err
		}
		col, err := app.Collections().Find("entries")
		if err != nil {
			return err
		}
		_, err = app.Records().Update(core.AsSystem(ctx), col, in.ID, map[string]any{"checked": true})
		return err
	})
	return app.Cron().Add("guestbook.heartbeat", "@every 1s", func(context.Context, *core.Job) error {
		p.beats.Add(1)
		return nil
	})
}

func (p *guestbook) Routes(g *echo.Group) {
	g.GET("/guestbook/stats", func(c echo.Context) error {
		if core.ActorFrom(c.Request().Context()).IsGuest() {
			return core.Errorf(core.CodeUnauthenticated, "The request requires valid record authorization token.")
		}
		return c.JSON(http.StatusOK, map[string]int64{"beats": p.beats.Load()})
	})
}

var (
	_ core.Plugin        = (*guestbook)(nil)
	_ apis.RouteProvider = (*guestbook)(nil)
)

// client speaks to a server over real HTTP.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) do(method, path, body string, auth bool) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("%s %s: %d, not JSON: %q", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// TestPluginAPI builds an App as a custom binary does (core.New with
// core.WithPlugins, bootstrapped, workers and cron started as by serve)
// and shows a plugin's route, veto hook, job and cron entry at work
// through the HTTP API.
func TestPluginAPI(t *testing.T) {
	t.Parallel()
	plugin := &guestbook{banned: "spam"}
	app := coretest.NewApp(t,
		coretest.WithAppOptions(core.WithPlugins(plugin)),
		coretest.WithJobWorkers(),
		coretest.WithConfig(func(c *core.Config) { c.Jobs.PollInterval = 50 * time.Millisecond }))
	coretest.CreateCollection(t, app, `{"name":"entries","listRule":"","viewRule":"","createRule":"",
		"fields":[{"name":"text","type":"text"},{"name":"checked","type":"bool"}]}`)
	_, token := coretest.Superuser(t, app)
	srv := httptest.NewServer(apis.NewRouter(app))
	t.Cleanup(srv.Close)
	c := &client{t: t, base: srv.URL, token: token}

	// The route, behind the core auth middleware.
	code, body := c.do(http.MethodGet, "/api/guestbook/stats", "", false)
	if code != http.StatusUnauthorized || body["status"] != float64(401) || body["message"] == "" || !reflect.DeepEqual(body["data"], map[string]any{}) {
		t.Fatalf("guest stats: %d %v", code, body)
	}
	code, body = c.do(http.MethodGet, "/api/guestbook/stats", "", true)
	if _, ok := body["beats"].(float64); code != http.StatusOK || !ok {
		t.Fatalf("stats: %d %v", code, body)
	}

	// The hook's veto is PocketBase's validation error, and keeps nothing.
	code, body = c.do(http.MethodPost, "/api/collections/entries/records", `{"text":"Buy SPAM now"}`, false)
	want := map[string]any{
		"status":  float64(400),
		"message": "Failed to create record.",
		"data":    map[string]any{"text": map[string]any{"code": "validation_banned_word", "message": "Must not contain spam."}},
	}
	if code != http.StatusBadRequest || !reflect.DeepEqual(body, want) {
		t.Fatalf("vetoed create: %d %v\nwant 400 %v", code, body, want)
	}
	code, body = c.do(http.MethodGet, "/api/collections/entries/records", "", false)
	if code != http.StatusOK || body["totalItems"] != float64(0) {
		t.Fatalf("list after veto: %d %v", code, body)
	}

	// An allowed create succeeds; its job marks it checked after the commit.
	code, body = c.do(http.MethodPost, "/api/collections/entries/records", `{"text":"Hello there"}`, false)
	id, _ := body["id"].(string)
	if code != http.StatusOK || id == "" || body["text"] != "Hello there" || body["checked"] != false {
		t.Fatalf("allowed create: %d %v", code, body)
	}
	coretest.Eventually(t, 20*time.Second, "the job to mark the entry checked", func() bool {
		code, body := c.do(http.MethodGet, "/api/collections/entries/records/"+id, "", false)
		return code == http.StatusOK && body["checked"] == true
	})

	// The cron entry fires every second.
	beats := func() float64 {
		_, body := c.do(http.MethodGet, "/api/guestbook/stats", "", true)
		n, _ := body["beats"].(float64)
		return n
	}
	first := beats()
	coretest.Eventually(t, 20*time.Second, "two heartbeats", func() bool { return beats() >= first+2 })
}
