package apis_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// clusterNodes serves each App of a cluster on its own loopback server,
// all with the superuser token of the first.
func clusterNodes(t *testing.T, apps []*core.App) []*rtEnv {
	t.Helper()
	first := newEnv(t, apps[0])
	var nodes []*rtEnv
	for _, app := range apps {
		kit := apitest.WithoutSuperuser(app)
		kit.Superuser, kit.SuperuserToken = first.su, first.token
		e := wrapEnv(kit)
		srv := httptest.NewServer(e.router)
		client := &http.Client{Transport: &http.Transport{}}
		t.Cleanup(func() {
			app.Realtime().CloseClients()
			client.CloseIdleConnections()
			srv.Close()
		})
		nodes = append(nodes, &rtEnv{env: e, srv: srv, client: client})
	}
	return nodes
}

// within reads c's next event, which must come within d.
func within(t *testing.T, c *sseConn, d time.Duration) sseEvent {
	t.Helper()
	select {
	case ev := <-c.events:
		return ev
	case <-c.closed:
		t.Fatal("stream ended")
	case <-time.After(d):
		t.Fatalf("no event within %s", d)
	}
	return sseEvent{}
}

func eventOf(t *testing.T, ev sseEvent) (string, map[string]any) {
	t.Helper()
	var data struct {
		Action string
		Record map[string]any
	}
	if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	return data.Action, data.Record
}

// Requests go to a different instance each time, as behind a load
// balancer: a collection created through A is usable through B at once,
// a client streaming from B may set its subscriptions through any
// instance, and SSE clients of B get the records written through A within
// a second, each as its own rules allow.
func TestClusterAPIAcrossInstances(t *testing.T) {
	t.Parallel()
	nodes := clusterNodes(t, coretest.NewCluster(t, 3))
	a, b, c := nodes[0], nodes[1], nodes[2]
	a.run(t, []scenario{
		{name: "users on A", method: "POST", path: "/api/collections", token: "superuser", wantStatus: 200,
			body: `{"name":"users","type":"auth","fields":[]}`},
		{name: "notes on A", method: "POST", path: "/api/collections", token: "superuser", wantStatus: 200,
			body: `{"name":"notes","listRule":"owner = @request.auth.id","viewRule":"owner = @request.auth.id",
				"createRule":"","updateRule":"","deleteRule":"",
				"fields":[{"name":"title","type":"text"},{"name":"owner","type":"text"}]}`},
	})
	b.run(t, []scenario{{name: "notes listed on B at once", path: "/api/collections/notes/records", token: "superuser", wantStatus: 200,
		wantContent: []string{`"items":[]`}}})
	c.run(t, []scenario{{name: "notes listed on C at once", path: "/api/collections/notes/records", token: "superuser", wantStatus: 200}})

	alice := account(t, a.app, "users", "alice@example.com")
	bob := account(t, a.app, "users", "bob@example.com")
	aliceSSE, bobSSE := b.connect(t), b.connect(t)
	// Alice's subscription lands on A, Bob's on B, which holds both streams.
	a.mustSubscribe(t, aliceSSE, tokenOf(t, a.app, alice), "notes/*")
	b.mustSubscribe(t, bobSSE, tokenOf(t, a.app, bob), "notes/*")
	if got := c.subscribe(t, aliceSSE.id, tokenOf(t, a.app, bob), "notes/*"); got != http.StatusForbidden {
		t.Fatalf("bob taking over alice's client through C = %d", got)
	}
	if got := c.subscribe(t, "nosuchclient", "", "notes/*"); got != http.StatusNotFound {
		t.Fatalf("unknown client id through C = %d", got)
	}

	var id string
	start := time.Now()
	a.run(t, []scenario{{name: "create on A", method: "POST", path: "/api/collections/notes/records", wantStatus: 200,
		body: `{"title":"hi","owner":"` + alice.ID() + `"}`,
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			var r map[string]any
			json.Unmarshal(rec.Body.Bytes(), &r)
			id, _ = r["id"].(string)
		}}})
	steps := []struct{ action, method, body, title string }{
		{"create", "", "", "hi"},
		{"update", "PATCH", `{"title":"edited"}`, "edited"},
		{"delete", "DELETE", "", "edited"},
	}
	for _, s := range steps {
		if s.method != "" {
			start = time.Now()
			rec := a.do(scenario{method: s.method, path: "/api/collections/notes/records/" + id, body: s.body})
			if rec.Code >= 300 {
				t.Fatalf("%s on A = %d %s", s.action, rec.Code, rec.Body.String())
			}
		}
		ev := within(t, aliceSSE, time.Second)
		action, record := eventOf(t, ev)
		if ev.name != "notes/*" || action != s.action || record["id"] != id || record["title"] != s.title {
			t.Fatalf("alice on B got %s %v, want %s of %s", action, record, s.action, id)
		}
		t.Logf("%s: A -> client of B in %s", s.action, time.Since(start))
	}
	// Bob's first event is for his own note: none of Alice's reached him.
	bobNote := mustRecord(t, a.app, "notes", map[string]any{"title": "b", "owner": bob.ID()})
	if action, record := eventOf(t, within(t, bobSSE, time.Second)); action != "create" || record["id"] != bobNote.ID() {
		t.Fatalf("bob on B got %s %v", action, record)
	}
}

// A policy created through A is enforced by C on the next request, and
// its removal too.
func TestClusterAPIPolicies(t *testing.T) {
	t.Parallel()
	nodes := clusterNodes(t, coretest.NewCluster(t, 3))
	a, c := nodes[0], nodes[2]
	mustCollection(t, a.app, `{"name":"posts","listRule":"","fields":[{"name":"title","type":"text"}]}`)
	var policy string
	a.run(t, []scenario{{name: "deny guests on A", method: "POST", path: "/api/hg/policies", token: "superuser", wantStatus: 200,
		body: `{"subject":"guest","resource":"collection:posts","action":"list","effect":"deny"}`, check: policyID(&policy)}})
	c.run(t, []scenario{{name: "denied on C", path: "/api/collections/posts/records", wantStatus: 403}})
	a.run(t, []scenario{{name: "remove on A", method: "DELETE", path: "/api/hg/policies/" + policy, token: "superuser", wantStatus: 204}})
	c.run(t, []scenario{{name: "allowed on C", path: "/api/collections/posts/records", wantStatus: 200}})
}

// Settings patched through A are what B answers next.
func TestClusterAPISettings(t *testing.T) {
	t.Parallel()
	nodes := clusterNodes(t, coretest.NewCluster(t, 2))
	nodes[0].run(t, []scenario{{name: "patch on A", method: "PATCH", path: "/api/settings", token: "superuser", wantStatus: 200,
		body: `{"meta":{"appName":"Renamed"}}`}})
	nodes[1].run(t, []scenario{{name: "read on B", path: "/api/settings", token: "superuser", wantStatus: 200,
		wantContent: []string{`"appName":"Renamed"`}}})
}

// GET /api/hg/cluster lists the members for superusers and readers of
// admin:settings; /api/health adds them to its data for the same callers
// and keeps PocketBase's body for everyone else.
func TestClusterAPIMembers(t *testing.T) {
	t.Parallel()
	apps := coretest.NewCluster(t, 3)
	nodes := clusterNodes(t, apps)
	b := nodes[1]
	staff := account(t, b.app, core.StaffCollectionName, "staff@example.com")
	user := account(t, b.app, core.StaffCollectionName, "bare@example.com")
	if _, err := b.app.Authz().AddPolicy(context.Background(), authz.Policy{Subject: authz.RecordSubject(staff.Collection().ID, staff.ID()),
		Resource: authz.AdminSettings, Action: authz.ActionRead, Effect: authz.EffectAllow}); err != nil {
		t.Fatal(err)
	}
	members := func(want int) func(t *testing.T, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			// The route answers the status; health has it in data.cluster.
			var st core.ClusterStatus
			var health struct {
				Message string
				Data    struct{ Cluster core.ClusterStatus }
			}
			json.Unmarshal(rec.Body.Bytes(), &health)
			if health.Message != "" {
				st = health.Data.Cluster
			} else {
				json.Unmarshal(rec.Body.Bytes(), &st)
			}
			if st.Mode != "redis" || len(st.Members) != want {
				t.Fatalf("cluster = %+v", st)
			}
			self := 0
			for _, m := range st.Members {
				if m.Self {
					self++
					if m.ID != b.app.Cluster().InstanceID() {
						t.Fatalf("self is %s, answered by %s", m.ID, b.app.Cluster().InstanceID())
					}
				}
				if m.Status != core.HealthOK || m.Version == "" || m.Heartbeat.IsZero() {
					t.Fatalf("member %+v", m)
				}
			}
			if self != 1 {
				t.Fatalf("%d members marked self", self)
			}
		}
	}
	b.run(t, []scenario{
		{name: "superuser", path: "/api/hg/cluster", token: "superuser", wantStatus: 200, check: members(3)},
		{name: "staff reading settings", path: "/api/hg/cluster", token: tokenOf(t, b.app, staff), wantStatus: 200, check: members(3)},
		{name: "staff without the policy", path: "/api/hg/cluster", token: tokenOf(t, b.app, user), wantStatus: 403},
		{name: "guest", path: "/api/hg/cluster", wantStatus: 401},
		{name: "health for guests", path: "/api/health", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := strings.TrimSpace(rec.Body.String()); got != `{"message":"API is healthy.","code":200,"data":{}}` {
				t.Fatalf("body = %s", got)
			}
		}},
		{name: "health for staff without the policy", path: "/api/health", token: tokenOf(t, b.app, user), wantStatus: 200, wantContent: []string{`"data":{}`}},
		{name: "health for superusers", path: "/api/health", token: "superuser", wantStatus: 200, check: members(3),
			wantContent: []string{`"database":{"status":"ok"`, `"redis":{"status":"ok","kind":"redis"`, `"canBackup":false`, `"cluster":{"mode":"redis"`}},
		{name: "health for staff reading settings", path: "/api/health", token: tokenOf(t, b.app, staff), wantStatus: 200, check: members(3),
			notContent: []string{`"database":{`, `"realIP"`}},
	})

	if err := apps[2].Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.run(t, []scenario{{name: "after a shutdown", path: "/api/hg/cluster", token: "superuser", wantStatus: 200, check: members(2)}})
}

// Without Redis the cluster is this instance alone.
func TestClusterAPISingle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	e.run(t, []scenario{
		{name: "members", path: "/api/hg/cluster", token: "superuser", wantStatus: 200,
			wantContent: []string{`"mode":"single"`, `"self":true`, `"status":"ok"`, `"id":"` + e.app.Cluster().InstanceID() + `"`}},
		{name: "health", path: "/api/health", token: "superuser", wantStatus: 200,
			wantContent: []string{`"cluster":{"mode":"single"`, `"realIP":"192.0.2.1"`}},
	})
}
