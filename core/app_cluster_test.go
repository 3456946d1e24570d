package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/realtime"
)

// crossInstance is how long an event may take from one instance to a
// client of another.
const crossInstance = time.Second

// rtEvent is a realtime message as a client reads it.
type rtEvent struct {
	Name   string
	Action string
	Record map[string]any
}

// eventWithin reads c's next message within d.
func eventWithin(t *testing.T, c *realtime.Client, d time.Duration) rtEvent {
	t.Helper()
	select {
	case m := <-c.Outbox():
		var data struct {
			Action string
			Record map[string]any
		}
		if err := json.Unmarshal(m.Data, &data); err != nil {
			t.Fatalf("message %q: %v", m.Data, err)
		}
		return rtEvent{Name: m.Name, Action: data.Action, Record: data.Record}
	case <-time.After(d):
		t.Fatalf("no realtime message within %s", d)
	}
	return rtEvent{}
}

func expectEvent(t *testing.T, c *realtime.Client, action, id string) rtEvent {
	t.Helper()
	ev := eventWithin(t, c, crossInstance)
	if ev.Action != action || ev.Record["id"] != id {
		t.Fatalf("got %s of %v, want %s of %s", ev.Action, ev.Record["id"], action, id)
	}
	return ev
}

// subscribeAs connects a client to app with req's auth.
func subscribeAs(t *testing.T, app *core.App, req *core.RequestInfo, subs ...string) *realtime.Client {
	t.Helper()
	c, err := app.Realtime().Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Realtime().Disconnect(c.ID()) })
	if err := app.Realtime().SetSubscriptions(core.WithRequest(context.Background(), req), c.ID(), subs); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustCreate(t *testing.T, app *core.App, js string) *core.Collection {
	t.Helper()
	c, err := app.Collections().Create(context.Background(), input(t, js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Records written on A reach the clients of B and C within a second, each
// filtered by the client's own rules, deletes included; A's own clients
// get each event once.
func TestClusterRealtimeAcrossInstances(t *testing.T) {
	t.Parallel()
	apps := coretest.NewCluster(t, 3)
	a, b, c := apps[0], apps[1], apps[2]
	ctx := context.Background()
	su := &core.RequestInfo{Actor: core.SystemActor()}
	users := mustCreate(t, a, `{"name":"users","type":"auth","fields":[]}`)
	notes := mustCreate(t, a, `{"name":"notes","fields":[{"name":"title","type":"text"},{"name":"owner","type":"text"}],
		"listRule":"owner = @request.auth.id","viewRule":"owner = @request.auth.id"}`)
	var alice, bob *core.RequestInfo
	for _, u := range []struct {
		dst   **core.RequestInfo
		email string
	}{{&alice, "alice@example.com"}, {&bob, "bob@example.com"}} {
		rec, err := a.Records().Create(core.WithRequest(ctx, su), users, map[string]any{"email": u.email, "password": "Secret12345", "passwordConfirm": "Secret12345"})
		if err != nil {
			t.Fatal(err)
		}
		*u.dst = asUser(rec)
	}

	aliceOnB := subscribeAs(t, b, alice, "notes/*")
	bobOnB := subscribeAs(t, b, bob, "notes/*")
	aliceOnC := subscribeAs(t, c, alice, "notes")
	aliceOnA := subscribeAs(t, a, alice, "notes/*")

	note, err := a.Records().Create(core.WithRequest(ctx, su), notes, map[string]any{"title": "a", "owner": alice.Auth["id"]})
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*realtime.Client{aliceOnB, aliceOnC, aliceOnA} {
		expectEvent(t, cl, "create", note.ID())
	}
	if _, err := a.Records().Update(core.WithRequest(ctx, su), notes, note.ID(), map[string]any{"title": "edited"}); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*realtime.Client{aliceOnB, aliceOnC, aliceOnA} {
		if ev := expectEvent(t, cl, "update", note.ID()); ev.Record["title"] != "edited" {
			t.Fatalf("update = %v", ev.Record)
		}
	}
	if err := a.Records().Delete(core.WithRequest(ctx, su), notes, note.ID()); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*realtime.Client{aliceOnB, aliceOnC, aliceOnA} {
		if ev := expectEvent(t, cl, "delete", note.ID()); ev.Record["title"] != "edited" || ev.Name == "" {
			t.Fatalf("delete = %+v", ev)
		}
	}

	// Events from one instance keep their order: the first event Bob gets
	// is for his own note, so none of Alice's reached him; Alice's next one
	// is her second note, so nothing came twice.
	bobNote, err := a.Records().Create(core.WithRequest(ctx, su), notes, map[string]any{"title": "b", "owner": bob.Auth["id"]})
	if err != nil {
		t.Fatal(err)
	}
	expectEvent(t, bobOnB, "create", bobNote.ID())
	second, err := a.Records().Create(core.WithRequest(ctx, su), notes, map[string]any{"title": "a2", "owner": alice.Auth["id"]})
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*realtime.Client{aliceOnB, aliceOnC, aliceOnA} {
		expectEvent(t, cl, "create", second.ID())
	}
}

// A deleted auth record signs its clients out on every instance.
func TestClusterRemoteDeleteOfAuthRecord(t *testing.T) {
	t.Parallel()
	apps := coretest.NewCluster(t, 2)
	a, b := apps[0], apps[1]
	ctx := context.Background()
	su := &core.RequestInfo{Actor: core.SystemActor()}
	users := mustCreate(t, a, `{"name":"users","type":"auth","fields":[],"listRule":"id = @request.auth.id","viewRule":"id = @request.auth.id"}`)
	rec, err := a.Records().Create(core.WithRequest(ctx, su), users, map[string]any{"email": "carol@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	if err != nil {
		t.Fatal(err)
	}
	carol := subscribeAs(t, b, asUser(rec), "users/*")
	if err := a.Records().Delete(core.WithRequest(ctx, su), users, rec.ID()); err != nil {
		t.Fatal(err)
	}
	// The create may still have been on its way when she subscribed.
	ev := eventWithin(t, carol, crossInstance)
	if ev.Action == "create" {
		ev = eventWithin(t, carol, crossInstance)
	}
	if ev.Action != "delete" || ev.Record["id"] != rec.ID() {
		t.Fatalf("got %s of %v, want her delete", ev.Action, ev.Record["id"])
	}
	// Signed out: a new record of her own is not hers to see.
	other, err := a.Records().Create(core.WithRequest(ctx, su), users, map[string]any{"email": "dave@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	select {
	case m := <-carol.Outbox():
		t.Fatalf("signed-out client got %s", m.Data)
	case <-time.After(300 * time.Millisecond):
	}
	st, _ := b.Realtime().Broker().Client(carol.ID()).State().(*core.RequestInfo)
	if st == nil || st.Auth != nil {
		t.Fatalf("client auth after delete = %+v", st)
	}
}

// Schema changes made on A are in B's cache when A's call returns.
func TestClusterCollectionChangesReachEveryInstance(t *testing.T) {
	t.Parallel()
	apps := coretest.NewCluster(t, 3)
	a, b, c := apps[0], apps[1], apps[2]
	ctx := context.Background()

	mustCreate(t, a, `{"name":"posts","listRule":null,"fields":[{"name":"title","type":"text"}]}`)
	for _, app := range []*core.App{b, c} {
		got, err := app.Collections().Find("posts")
		if err != nil {
			t.Fatalf("created on A, missing on another instance: %v", err)
		}
		if got.ListRule != nil {
			t.Fatalf("list rule = %q", *got.ListRule)
		}
	}
	if _, err := a.Collections().Update(ctx, "posts", input(t, `{"listRule":""}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Collections().Find("posts"); got.ListRule == nil || *got.ListRule != "" {
		t.Fatal("rule change not seen on B")
	}
	err := a.Collections().Import(ctx, []*core.CollectionInput{
		input(t, `{"name":"posts","listRule":"","fields":[{"name":"title","type":"text"}]}`),
		input(t, `{"name":"tags","fields":[{"name":"label","type":"text"}]}`),
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collections().Find("tags"); err != nil {
		t.Fatalf("imported on A, missing on C: %v", err)
	}
	if err := a.Collections().Delete(ctx, "tags"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Collections().Find("tags"); err == nil {
		t.Fatal("deleted on A, still cached on B")
	}
}

// Settings saved on A are B's settings when A's call returns.
func TestClusterSettingsReachEveryInstance(t *testing.T) {
	t.Parallel()
	apps := coretest.NewCluster(t, 2)
	a, b := apps[0], apps[1]
	s := a.Settings()
	s.Meta.AppName = "Renamed"
	s.Batch.Enabled = !s.Batch.Enabled
	if err := a.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := b.Settings(); got.Meta.AppName != "Renamed" || got.Batch.Enabled != s.Batch.Enabled {
		t.Fatalf("B's settings = %+v", got.Meta)
	}
}

// A policy saved on A is enforced on C from C's next request.
func TestClusterPolicyChangesReachEveryInstance(t *testing.T) {
	t.Parallel()
	apps := coretest.NewCluster(t, 3)
	a, c := apps[0], apps[2]
	ctx := context.Background()
	posts := mustCreate(t, a, `{"name":"posts",`+openRules+`,"fields":[{"name":"title","type":"text"}]}`)
	guest := &core.RequestInfo{}
	if _, err := c.Records().List(core.WithRequest(ctx, guest), posts, core.RecordQuery{}); err != nil {
		t.Fatalf("guest list before the policy: %v", err)
	}
	p, err := a.Authz().AddPolicy(ctx, authz.Policy{Subject: authz.Guest, Resource: "collection:posts", Action: "list", Effect: authz.EffectDeny})
	if err != nil {
		t.Fatal(err)
	}
	var ce *core.Error
	if _, err := c.Records().List(core.WithRequest(ctx, guest), posts, core.RecordQuery{}); !errors.As(err, &ce) || ce.Code != core.CodeForbidden {
		t.Fatalf("guest list on C after a deny on A: %v", err)
	}
	if err := a.Authz().RemovePolicy(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Records().List(core.WithRequest(ctx, guest), posts, core.RecordQuery{}); err != nil {
		t.Fatalf("guest list on C after the deny went: %v", err)
	}
	// Roles too.
	if err := a.Authz().AddMember("blocked", authz.Guest); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authz().AddPolicy(ctx, authz.Policy{Subject: "role:blocked", Resource: "collection:*", Action: "*", Effect: authz.EffectDeny}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Records().List(core.WithRequest(ctx, guest), posts, core.RecordQuery{}); !errors.As(err, &ce) || ce.Code != core.CodeForbidden {
		t.Fatalf("guest list on C after a role deny on A: %v", err)
	}
}

// Every instance lists every live member with its health; one that shuts
// down leaves at once. Without Redis the cluster is the instance alone.
func TestClusterMembers(t *testing.T) {
	t.Parallel()
	apps := coretest.NewCluster(t, 3)
	ctx := context.Background()
	st := apps[1].Cluster().Status(ctx, nil)
	if st.Mode != "redis" || !st.Connected || st.Self != apps[1].Cluster().InstanceID() || len(st.Members) != 3 {
		t.Fatalf("status = %+v", st)
	}
	var ids []string
	for _, m := range st.Members {
		ids = append(ids, m.ID)
		if m.Version != core.Version || m.Status != core.HealthOK || m.Started.IsZero() || m.Heartbeat.IsZero() || m.Checks["database"] != core.HealthOK {
			t.Fatalf("member = %+v", m)
		}
		if m.Self != (m.ID == apps[1].Cluster().InstanceID()) {
			t.Fatalf("self flag of %s = %v", m.ID, m.Self)
		}
	}
	for _, app := range apps {
		if !slices.Contains(ids, app.Cluster().InstanceID()) {
			t.Fatalf("%s missing from %v", app.Cluster().InstanceID(), ids)
		}
	}
	if err := apps[2].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := apps[0].Cluster().Status(ctx, nil); len(st.Members) != 2 {
		t.Fatalf("after a shutdown: %d members", len(st.Members))
	}

	single := coretest.NewApp(t)
	st = single.Cluster().Status(ctx, nil)
	if st.Mode != "single" || len(st.Members) != 1 || !st.Members[0].Self || st.Members[0].Status != core.HealthOK {
		t.Fatalf("single = %+v", st)
	}
}

// With Redis gone, writes go on and local clients get their events; when
// it comes back, an instance that missed a schema change has reloaded it
// and events cross instances again.
func TestClusterSurvivesARedisOutage(t *testing.T) {
	t.Parallel()
	srv := coretest.NewRedisServer(t)
	prefix := coretest.WithConfig(func(c *core.Config) { c.Redis.URL, c.Redis.Prefix = srv.URL(), "outage" })
	a := coretest.NewApp(t, prefix)
	b := coretest.NewApp(t, coretest.InCluster(a))
	ctx := context.Background()
	su := &core.RequestInfo{Actor: core.SystemActor()}
	posts := mustCreate(t, a, `{"name":"posts",`+openRules+`,"fields":[{"name":"title","type":"text"}]}`)
	onA := subscribeAs(t, a, su, "posts/*")
	onB := subscribeAs(t, b, su, "posts/*")

	srv.Stop()
	start := time.Now()
	rec, err := a.Records().Create(core.WithRequest(ctx, su), posts, map[string]any{"title": "during"})
	if err != nil {
		t.Fatalf("write during the outage: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("write took %s during the outage", d)
	}
	expectEvent(t, onA, "create", rec.ID())
	mustCreate(t, a, `{"name":"missed","fields":[]}`)

	srv.Start()
	waitFor(t, 15*time.Second, "B to reload after the outage", func() bool {
		_, err := b.Collections().Find("missed")
		return err == nil && b.Cluster().Status(ctx, nil).Connected && a.Cluster().Status(ctx, nil).Connected
	})
	select {
	case m := <-onB.Outbox():
		t.Fatalf("B got an event published during the outage: %s", m.Data)
	default:
	}
	rec, err = a.Records().Create(core.WithRequest(ctx, su), posts, map[string]any{"title": "after"})
	if err != nil {
		t.Fatal(err)
	}
	expectEvent(t, onA, "create", rec.ID())
	expectEvent(t, onB, "create", rec.ID())
}

// Three instances schedule the same cron entry every second; each tick
// runs once, on one of them.
func TestClusterCronRunsOncePerTick(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	runs := map[string]int{}
	plugin := coretest.WithAppOptions(core.WithPlugins(jobsPlugin(func(app *core.App) error {
		return app.Cron().Add("tick", "@every 1s", func(ctx context.Context, job *core.Job) error {
			mu.Lock()
			runs[job.ID]++
			mu.Unlock()
			return nil
		})
	})))
	coretest.NewCluster(t, 3, coretest.WithConfig(fastJobs), plugin, coretest.WithJobWorkers())

	time.Sleep(4500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	var ticks []int64
	for id, n := range runs {
		var unix int64
		if _, err := fmt.Sscanf(id, "cron:tick:%d", &unix); err != nil {
			t.Fatalf("task id %q", id)
		}
		if n != 1 {
			t.Errorf("tick %s ran %d times", id, n)
		}
		ticks = append(ticks, unix)
	}
	slices.Sort(ticks)
	if len(ticks) < 3 {
		t.Fatalf("%d ticks in 4.5s: %v", len(ticks), ticks)
	}
	for i := 1; i < len(ticks); i++ {
		if ticks[i] != ticks[i-1]+1 {
			t.Errorf("ticks %v: a second was skipped", ticks)
		}
	}
}
