package apis_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

const rtWait = 5 * time.Second

type sseEvent struct{ id, name, data string }

// sseConn is a realtime connection read by a goroutine of the test.
type sseConn struct {
	id     string
	events chan sseEvent
	pings  atomic.Int32
	closed chan struct{} // the stream ended
	cancel context.CancelFunc
}

// rtEnv is an app served over a real loopback listener: SSE needs a
// streaming connection, which a ResponseRecorder is not.
type rtEnv struct {
	*env
	srv    *httptest.Server
	client *http.Client
}

func newRTEnv(t *testing.T, opts ...coretest.Option) *rtEnv {
	t.Helper()
	e := newEnv(t, coretest.NewApp(t, opts...))
	srv := httptest.NewServer(apis.NewRouter(e.app))
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		e.app.Realtime().CloseClients()
		client.CloseIdleConnections()
		srv.Close()
	})
	return &rtEnv{env: e, srv: srv, client: client}
}

// connect opens a stream and reads its PB_CONNECT.
func (e *rtEnv) connect(t *testing.T) *sseConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/realtime", nil)
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		resp.Body.Close()
		t.Fatalf("connect = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseConn{events: make(chan sseEvent, 1024), closed: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(c.closed)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				c.pings.Add(1)
			case strings.HasPrefix(line, "id:"):
				ev.id = line[3:]
			case strings.HasPrefix(line, "event:"):
				ev.name = line[6:]
			case strings.HasPrefix(line, "data:"):
				ev.data = line[5:]
			}
		}
	}()
	t.Cleanup(func() { c.close() })
	first := c.next(t)
	var data struct{ ClientID string }
	json.Unmarshal([]byte(first.data), &data)
	if first.name != "PB_CONNECT" || data.ClientID == "" || first.id != data.ClientID {
		t.Fatalf("first event = %+v", first)
	}
	c.id = data.ClientID
	return c
}

func (c *sseConn) close() {
	c.cancel()
	<-c.closed
}

func (c *sseConn) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev := <-c.events:
		return ev
	case <-c.closed:
		t.Fatal("stream ended while waiting for an event")
	case <-time.After(rtWait):
		t.Fatal("no event within the deadline")
	}
	return sseEvent{}
}

// record reads the next event, checks its name and action and returns
// its record.
func (c *sseConn) record(t *testing.T, name, action string) map[string]any {
	t.Helper()
	ev := c.next(t)
	var data struct {
		Action string
		Record map[string]any
	}
	if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	if ev.name != name || data.Action != action || ev.id != c.id {
		t.Fatalf("event = %+v, want %s %s", ev, name, action)
	}
	return data.Record
}

// subscribe posts the client's subscriptions with token as its auth.
func (e *rtEnv) subscribe(t *testing.T, clientID, token string, subs ...string) int {
	t.Helper()
	if subs == nil {
		subs = []string{}
	}
	body, _ := json.Marshal(map[string]any{"clientId": clientID, "subscriptions": subs})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/realtime", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *rtEnv) mustSubscribe(t *testing.T, c *sseConn, token string, subs ...string) {
	t.Helper()
	if got := e.subscribe(t, c.id, token, subs...); got != http.StatusNoContent {
		t.Fatalf("subscribe %v = %d", subs, got)
	}
}

func TestRealtimeRecordEvents(t *testing.T) {
	t.Parallel()
	e := newRTEnv(t)
	mustCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[{"name":"title","type":"text"},{"name":"secret","type":"text","hidden":true}]}`)
	guest, su := e.connect(t), e.connect(t)
	e.mustSubscribe(t, guest, "", "posts/*")
	e.mustSubscribe(t, su, e.token, "posts")

	rec := e.do(scenario{method: "POST", path: "/api/collections/posts/records", token: "superuser", body: `{"title":"hi","secret":"s"}`})
	var created map[string]any
	json.Unmarshal(rec.Body.Bytes(), &created)
	id, _ := created["id"].(string)

	got := guest.record(t, "posts/*", "create")
	if got["id"] != id || got["title"] != "hi" || got["collectionName"] != "posts" || got["secret"] != nil {
		t.Fatalf("guest create = %v", got)
	}
	if got := su.record(t, "posts", "create"); got["secret"] != "s" {
		t.Fatalf("superuser create lacks hidden field: %v", got)
	}
	e.do(scenario{method: "PATCH", path: "/api/collections/posts/records/" + id, body: `{"title":"edited"}`})
	if got := guest.record(t, "posts/*", "update"); got["title"] != "edited" {
		t.Fatalf("update = %v", got)
	}
	su.record(t, "posts", "update")
	e.do(scenario{method: "DELETE", path: "/api/collections/posts/records/" + id})
	if got := guest.record(t, "posts/*", "delete"); got["id"] != id || got["title"] != "edited" {
		t.Fatalf("delete = %v", got)
	}
	su.record(t, "posts", "delete")
}

func TestRealtimeRulesPerClient(t *testing.T) {
	t.Parallel()
	e := newRTEnv(t)
	mustCollection(t, e.app, `{"name":"users","type":"auth","fields":[]}`)
	mustCollection(t, e.app, `{"name":"notes","fields":[{"name":"title","type":"text"},{"name":"owner","type":"text"}],
		"listRule":"owner = @request.auth.id","viewRule":"owner = @request.auth.id || title = 'open'"}`)
	mustCollection(t, e.app, `{"name":"locked","fields":[{"name":"title","type":"text"}]}`)
	alice, bob := account(t, e.app, "users", "alice@example.com"), account(t, e.app, "users", "bob@example.com")

	a, b, g, su := e.connect(t), e.connect(t), e.connect(t), e.connect(t)
	e.mustSubscribe(t, a, tokenOf(t, e.app, alice), "notes/*", "locked/*")
	e.mustSubscribe(t, b, tokenOf(t, e.app, bob), "notes/*")
	e.mustSubscribe(t, g, "", "notes/*", "locked/*")
	e.mustSubscribe(t, su, e.token, "locked/*")

	aliceNote := mustRecord(t, e.app, "notes", map[string]any{"title": "a", "owner": alice.ID()})
	mustRecord(t, e.app, "locked", map[string]any{"title": "l"})
	bobNote := mustRecord(t, e.app, "notes", map[string]any{"title": "b", "owner": bob.ID()})
	// Events of one instance keep their order, so each client's first event
	// is the first it may see: nothing of the others slipped in before.
	if got := a.record(t, "notes/*", "create"); got["id"] != aliceNote.ID() {
		t.Fatalf("alice got %v", got)
	}
	if got := b.record(t, "notes/*", "create"); got["id"] != bobNote.ID() {
		t.Fatalf("bob got %v", got)
	}
	if got := su.record(t, "locked/*", "create"); got["title"] != "l" {
		t.Fatalf("superuser got %v", got)
	}

	// A record topic is guarded by the view rule.
	e.mustSubscribe(t, g, "", "notes/"+aliceNote.ID(), "notes/*")
	notes, _ := e.app.Collections().Find("notes")
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	if _, err := e.app.Records().Update(core.WithRequest(context.Background(), sys), notes, aliceNote.ID(), map[string]any{"title": "open"}); err != nil {
		t.Fatal(err)
	}
	if got := g.record(t, "notes/"+aliceNote.ID(), "update"); got["title"] != "open" {
		t.Fatalf("guest view-topic update = %v", got)
	}
	a.record(t, "notes/*", "update")

	// Deletes are checked against the record as it was.
	if err := e.app.Records().Delete(core.WithRequest(context.Background(), sys), notes, bobNote.ID()); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Records().Delete(core.WithRequest(context.Background(), sys), notes, aliceNote.ID()); err != nil {
		t.Fatal(err)
	}
	if got := b.record(t, "notes/*", "delete"); got["id"] != bobNote.ID() {
		t.Fatalf("bob delete = %v", got)
	}
	if got := a.record(t, "notes/*", "delete"); got["id"] != aliceNote.ID() {
		t.Fatalf("alice delete = %v", got)
	}
	if got := g.record(t, "notes/"+aliceNote.ID(), "delete"); got["id"] != aliceNote.ID() {
		t.Fatalf("guest delete = %v", got)
	}
}

func TestRealtimeSubscriptionsAuth(t *testing.T) {
	t.Parallel()
	e := newRTEnv(t)
	mustCollection(t, e.app, `{"name":"users","type":"auth","fields":[],"listRule":"id = @request.auth.id","viewRule":"id = @request.auth.id"}`)
	mustCollection(t, e.app, `{"name":"notes","fields":[{"name":"title","type":"text"}],"listRule":"@request.auth.id != ''"}`)
	alice, bob := account(t, e.app, "users", "alice@example.com"), account(t, e.app, "users", "bob@example.com")
	aliceToken := tokenOf(t, e.app, alice)

	c, witness := e.connect(t), e.connect(t)
	e.mustSubscribe(t, c, "", "notes/*")
	e.mustSubscribe(t, witness, e.token, "notes/*")
	mustRecord(t, e.app, "notes", map[string]any{"title": "unseen"})
	// Rules are checked when an event is delivered: wait until it was.
	witness.record(t, "notes/*", "create")

	// The same client signs in through a new POST.
	e.mustSubscribe(t, c, aliceToken, "notes/*")
	mustRecord(t, e.app, "notes", map[string]any{"title": "seen"})
	if got := c.record(t, "notes/*", "create"); got["title"] != "seen" {
		t.Fatalf("first event after sign-in = %v", got)
	}

	for name, tc := range map[string]struct {
		client, token string
		subs          []string
		want          int
	}{
		"another user":     {c.id, tokenOf(t, e.app, bob), nil, 403},
		"signed out":       {c.id, "", nil, 403},
		"unknown client":   {"nope", "", nil, 404},
		"missing clientId": {"", "", nil, 400},
		"too long":         {c.id, aliceToken, []string{strings.Repeat("x", 2501)}, 400},
		"same user":        {c.id, aliceToken, []string{"users/" + alice.ID()}, 204},
	} {
		if got := e.subscribe(t, tc.client, tc.token, tc.subs...); got != tc.want {
			t.Errorf("%s: status %d, want %d", name, got, tc.want)
		}
	}

	// Rules see the auth record as it is now; the owner sees its email.
	users, _ := e.app.Collections().Find("users")
	if _, err := e.app.Records().Update(core.AsSystem(context.Background()), users, alice.ID(), map[string]any{"emailVisibility": false}); err != nil {
		t.Fatal(err)
	}
	if got := c.record(t, "users/"+alice.ID(), "update"); got["email"] != "alice@example.com" {
		t.Fatalf("owner update = %v", got)
	}
}

func TestRealtimeOptionsAndUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newRTEnv(t)
	mustCollection(t, e.app, `{"name":"authors","fields":[{"name":"name","type":"text"}],"listRule":"","viewRule":""}`)
	mustCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"",
		"fields":[{"name":"title","type":"text"},{"name":"body","type":"text"},{"name":"author","type":"relation","collectionId":"authors"}]}`)
	author := mustRecord(t, e.app, "authors", map[string]any{"name": "Ann"})

	opts, _ := json.Marshal(map[string]any{"query": map[string]string{"expand": "author", "fields": "id,title,expand.author.name"}})
	sub := "posts/*?options=" + url.QueryEscape(string(opts))
	c, witness := e.connect(t), e.connect(t)
	e.mustSubscribe(t, c, "", sub)
	e.mustSubscribe(t, witness, "", "posts/*")

	post := mustRecord(t, e.app, "posts", map[string]any{"title": "t", "body": "long", "author": author.ID()})
	got := c.record(t, sub, "create")
	expand, _ := got["expand"].(map[string]any)
	authorOut, _ := expand["author"].(map[string]any)
	if got["id"] != post.ID() || got["title"] != "t" || got["body"] != nil || got["author"] != nil || len(authorOut) != 1 || authorOut["name"] != "Ann" {
		t.Fatalf("picked and expanded record = %v", got)
	}
	witness.record(t, "posts/*", "create")

	// An empty list unsubscribes; the witness shows the event was handled.
	e.mustSubscribe(t, c, "")
	mustRecord(t, e.app, "posts", map[string]any{"title": "missed"})
	witness.record(t, "posts/*", "create")
	e.mustSubscribe(t, c, "", "posts/*")
	mustRecord(t, e.app, "posts", map[string]any{"title": "after"})
	if got := c.record(t, "posts/*", "create"); got["title"] != "after" {
		t.Fatalf("after resubscribing got %v", got)
	}
}

func TestRealtimeCapIdleAndPing(t *testing.T) {
	t.Parallel()
	e := newRTEnv(t, coretest.WithConfig(func(cfg *core.Config) {
		cfg.Realtime.MaxClients = 2
		cfg.Realtime.PingInterval = 10 * time.Millisecond
		cfg.Realtime.IdleTimeout = 300 * time.Millisecond
	}))
	first, _ := e.connect(t), e.connect(t)
	resp, err := e.client.Get(e.srv.URL + "/api/realtime")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("over the cap = %d", resp.StatusCode)
	}
	select {
	case <-first.closed:
	case <-time.After(rtWait):
		t.Fatal("idle client not disconnected")
	}
	if first.pings.Load() == 0 {
		t.Fatal("no keep-alive ping")
	}
	// The idle clients left: there is room again.
	coretest.Eventually(t, rtWait, "the broker to drop its clients", func() bool { return len(e.app.Realtime().Broker().Clients()) == 0 })
	e.connect(t)
}

// TestRealtimeNoLeak connects and drops many clients and checks that the
// broker and the goroutine count come back to where they were. It does
// not run in parallel: other tests' goroutines would blur the count.
func TestRealtimeNoLeak(t *testing.T) {
	e := newRTEnv(t)
	mustCollection(t, e.app, `{"name":"posts","listRule":"","fields":[{"name":"title","type":"text"}]}`)
	warm := e.connect(t)
	e.mustSubscribe(t, warm, "", "posts/*")
	mustRecord(t, e.app, "posts", map[string]any{"title": "warm"})
	warm.record(t, "posts/*", "create")
	warm.close()
	e.client.CloseIdleConnections()
	coretest.Eventually(t, rtWait, "the broker to drop its clients", func() bool { return len(e.app.Realtime().Broker().Clients()) == 0 })
	base := runtime.NumGoroutine()

	const n = 100
	conns := make([]*sseConn, n)
	for i := range conns {
		conns[i] = e.connect(t)
		e.mustSubscribe(t, conns[i], "", "posts/*")
	}
	mustRecord(t, e.app, "posts", map[string]any{"title": "all"})
	for _, c := range conns {
		c.record(t, "posts/*", "create")
	}
	if got := len(e.app.Realtime().Broker().Clients()); got != n {
		t.Fatalf("broker holds %d clients, want %d", got, n)
	}
	for _, c := range conns {
		c.close()
	}
	e.client.CloseIdleConnections()
	coretest.Eventually(t, rtWait, "the broker to drop its clients", func() bool { return len(e.app.Realtime().Broker().Clients()) == 0 })
	coretest.Eventually(t, rtWait, fmt.Sprintf("the goroutines to fall back to %d+2", base), func() bool { return runtime.NumGoroutine() <= base+2 })
}
