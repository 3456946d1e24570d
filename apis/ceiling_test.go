package apis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/mailer"
	"github.com/hatchgrid/hatchgrid/plugins/audit"
	"github.com/hatchgrid/hatchgrid/plugins/backups"
	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
)

// The admin-ceiling tests (docs/security.md, "The ceiling"): a staff
// account holding admin resources short of superuser tries every known
// way to a superuser's credentials or to SQL outside its reach. Each
// escalation returns "" when it was refused and what it obtained
// otherwise; the end goal is checked (a token read, a definition changed,
// a right gained), not a status code.

// ceiling is an App with a superuser, a staff account, the audit and
// backups plugins, a real job queue and the data the escalations aim at.
type ceiling struct {
	*env
	staff      *core.Record
	staffToken string
	staffSub   string
	box        *mailer.Mailbox
	backupKey  string // a backup to download (SQLite)
}

const (
	ceilingSMTPPassword = "SmtpPassword-5dc1b0"
	ceilingS3Secret     = "S3Secret-8a41fe"
)

func systemCtx() context.Context { return core.WithActor(context.Background(), core.SystemActor()) }

// newCeiling builds the App and its data; grants, if any, go to the staff
// account as stored policies, bypassing the policies API (which would
// refuse some of them).
func newCeiling(t *testing.T, grants ...authz.Policy) *ceiling {
	t.Helper()
	app := coretest.NewApp(t, coretest.WithConfig(fastJobs), coretest.WithJobWorkers(),
		coretest.WithAppOptions(core.WithPlugins(ceilingPlugins()...)))
	c := &ceiling{env: newEnv(t, app), box: coretest.Mailbox(t, app)}
	c.staff = account(t, app, core.StaffCollectionName, "staff@example.com")
	c.staffToken = tokenOf(t, app, c.staff)
	c.staffSub = authz.RecordSubject(c.staff.Collection().ID, c.staff.ID())
	ctx := systemCtx()

	mustCollection(t, app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","fields":[{"name":"title","type":"text"},{"name":"n","type":"number"}]}`)
	mustCollection(t, app, `{"name":"secrets","fields":[{"name":"value","type":"text"}]}`)
	mustCollection(t, app, `{"name":"posts_view","type":"view","viewQuery":"SELECT id, title FROM posts"}`)
	mustCollection(t, app, `{"name":"su_keys","type":"view","viewQuery":"SELECT id, \"tokenKey\" AS k FROM _superusers"}`)
	mustRecord(t, app, "posts", map[string]any{"title": "hello", "n": 3})

	s := app.Settings()
	s.SMTP.Password = ceilingSMTPPassword
	s.S3.Secret, s.Backups.S3.Secret = ceilingS3Secret, ceilingS3Secret
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	enf := app.Authz()
	for _, p := range []authz.Policy{
		{Subject: authz.RoleSubject("boss"), Resource: "*", Action: "*"},
		{Subject: c.staffSub, Resource: "collection:secrets", Action: "*", Effect: authz.EffectDeny},
	} {
		if _, err := enf.AddPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range grants {
		p.Subject = c.staffSub
		if _, err := enf.AddPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if coretest.Dialect() == "sqlite" {
		c.backupKey = "seed.zip"
		var bp *backups.Plugin
		for _, p := range app.Plugins() {
			if b, ok := p.(*backups.Plugin); ok {
				bp = b
			}
		}
		if err := bp.Create(ctx, c.backupKey); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// ceilingPlugins are the plugins the ceiling tests run with: those that
// add admin resources or superuser-only routes.
func ceilingPlugins() []core.Plugin {
	return []core.Plugin{&audit.Plugin{}, &backups.Plugin{Restart: func() error { return nil }}, &webhooks.Plugin{}}
}

// as sends a request as the staff account ("staff"), a guest ("") or a
// superuser ("superuser").
func (c *ceiling) as(who, method, path, body string) *httptest.ResponseRecorder {
	token := who
	if who == "staff" {
		token = c.staffToken
	}
	return c.do(scenario{method: method, path: path, body: body, token: token})
}

func (c *ceiling) superuser(t *testing.T) *core.Record {
	t.Helper()
	su, err := c.app.Superusers().FindByEmail(context.Background(), coretest.SuperuserEmail)
	if err != nil {
		t.Fatal(err)
	}
	return su
}

// deleteCollection removes a collection the attempt may have created.
func (c *ceiling) deleteCollection(t *testing.T, name string) {
	t.Helper()
	if _, err := c.app.Collections().Find(name); err == nil {
		if err := c.app.Collections().Delete(systemCtx(), name); err != nil {
			t.Fatalf("cleanup %s: %v", name, err)
		}
	}
}

func ok(rec *httptest.ResponseRecorder) bool { return rec.Code >= 200 && rec.Code < 300 }

var resetTokenPattern = regexp.MustCompile(`confirm-password-reset/([A-Za-z0-9_.-]+)`)

// escalation is one attempt at reaching superuser: it returns what it
// obtained, "" when it was refused.
type escalation struct {
	name string
	try  func(t *testing.T, c *ceiling) string
}

// escalations are the matrix's attempts, the reproductions first.
var escalations = []escalation{
	{"jobs: read a superuser's password-reset link", tryJobsResetToken},
	{"schema: open _superusers' createRule", trySuperusersCreateRule},
	{"schema: change a system collection", trySystemCollections},
	{"schema: view of _superusers.tokenKey", tryViewTokenKey},
	{"schema: view of _collections.options", tryViewCollectionsOptions},
	{"schema: view through a superuser's view", tryViewThroughView},
	{"schema: view whose source is changed later", tryViewRepointed},
	{"schema: view calling system functions", tryViewSystemFunctions},
	{"schema: token secrets in collection JSON", tryCollectionSecrets},
	{"schema: a rule testing _superusers' hidden fields", tryRuleOracle},
	{"schema: an index condition calling system functions", tryIndexFunctions},
	{"settings: redirect SMTP, S3, backups or the app URL", trySettingsRedirect},
	{"settings: read stored secrets", trySettingsSecrets},
	{"policies: grant oneself more", tryPolicySelfGrant},
	{"logs: a superuser's file token", tryLogsFileToken},
	{"audit: secrets in the audit log", tryAuditSecrets},
	{"backups: list, create or download", tryBackups},
	{"superusers: impersonate or create one", trySuperuserRecords},
	{"webhooks: create one or read its secret", tryWebhooks},
}

func escalationNamed(t *testing.T, name string) escalation {
	t.Helper()
	i := slices.IndexFunc(escalations, func(e escalation) bool { return e.name == name })
	if i < 0 {
		t.Fatalf("no escalation %q", name)
	}
	return escalations[i]
}

// requireRefused runs the escalations named with the staff holding grants.
func requireRefused(t *testing.T, grants []authz.Policy, names ...string) *ceiling {
	t.Helper()
	c := newCeiling(t, grants...)
	for _, name := range names {
		if got := escalationNamed(t, name).try(t, c); got != "" {
			t.Errorf("%s: escalated: %s", name, got)
		}
	}
	return c
}

func grant(resource, action string) authz.Policy {
	return authz.Policy{Resource: resource, Action: action}
}

// TestCeilingJobsResetLink is finding 3: a superuser's password reset,
// read back through the jobs API by a holder of admin:jobs read, must not
// show its link.
func TestCeilingJobsResetLink(t *testing.T) {
	t.Parallel()
	requireRefused(t, []authz.Policy{grant(authz.AdminJobs, "read")}, "jobs: read a superuser's password-reset link")
}

// TestCeilingSchemaSystemCollections is finding 4's first reproduction:
// PATCH /api/collections/_superusers {"createRule":""} by admin:schema.
func TestCeilingSchemaSystemCollections(t *testing.T) {
	t.Parallel()
	c := requireRefused(t, []authz.Policy{grant(authz.AdminSchema, "*")},
		"schema: open _superusers' createRule", "schema: change a system collection")
	// The refusal is a 403, and user collections stay the holder's to change.
	if rec := c.as("staff", "PATCH", "/api/collections/_superusers", `{"createRule":""}`); rec.Code != http.StatusForbidden {
		t.Errorf("PATCH _superusers: %d %s", rec.Code, rec.Body.String())
	}
	if rec := c.as("staff", "PATCH", "/api/collections/posts", `{"listRule":"n > 1"}`); rec.Code != http.StatusOK {
		t.Errorf("PATCH posts: %d %s", rec.Code, rec.Body.String())
	}
}

// TestCeilingViewQueries is finding 4's second reproduction: views that
// select _superusers.tokenKey or _collections.options, directly, through
// a superuser's view or after a view they read is changed, and system
// functions (pg_read_file on PostgreSQL).
func TestCeilingViewQueries(t *testing.T) {
	t.Parallel()
	requireRefused(t, []authz.Policy{grant(authz.AdminSchema, "*")},
		"schema: view of _superusers.tokenKey", "schema: view of _collections.options",
		"schema: view through a superuser's view", "schema: view whose source is changed later",
		"schema: view calling system functions")
}

// TestCeilingSettingsRedirect is finding 4's SMTP reproduction: admin:settings
// write may not point credential-carrying mail, S3 or backups elsewhere.
func TestCeilingSettingsRedirect(t *testing.T) {
	t.Parallel()
	c := requireRefused(t, []authz.Policy{grant(authz.AdminSettings, "*")}, "settings: redirect SMTP, S3, backups or the app URL")
	// The other sections stay delegated, and resending the redacted
	// settings as read is no change.
	if rec := c.as("staff", "PATCH", "/api/settings", `{"meta":{"appName":"Staffed"},"batch":{"enabled":true}}`); rec.Code != http.StatusOK {
		t.Errorf("PATCH meta.appName: %d %s", rec.Code, rec.Body.String())
	}
	read := c.as("staff", "GET", "/api/settings", "")
	if rec := c.as("staff", "PATCH", "/api/settings", read.Body.String()); rec.Code != http.StatusOK {
		t.Errorf("PATCH with the settings as read: %d %s", rec.Code, rec.Body.String())
	}
	if got := c.app.Settings().SMTP.Password; got != ceilingSMTPPassword {
		t.Errorf("the SMTP password became %q", got)
	}
}

// TestCeilingPolicySelfGrant is finding 4's policies reproduction: a
// holder of admin:policies write cannot give itself (or anyone) more than
// it has.
func TestCeilingPolicySelfGrant(t *testing.T) {
	t.Parallel()
	requireRefused(t, []authz.Policy{grant(authz.AdminPolicies, "*")}, "policies: grant oneself more")
}

// TestCeilingLogsFileToken is finding 5: a superuser's file token read
// from the request logs, then used on a backup download.
func TestCeilingLogsFileToken(t *testing.T) {
	t.Parallel()
	requireRefused(t, []authz.Policy{grant(authz.AdminLogs, "read")}, "logs: a superuser's file token")
}

// staffRights lists what the staff account may do, for before/after
// comparisons: every admin resource and record action, and its roles.
func (c *ceiling) staffRights(t *testing.T) []string {
	t.Helper()
	ctx := core.WithActor(context.Background(), core.Actor{
		CollectionID: c.staff.Collection().ID, CollectionName: c.staff.Collection().Name, ID: c.staff.ID(),
	})
	var out []string
	check := func(resource, action string) {
		allowed, err := c.app.Can(ctx, resource, action)
		if err != nil {
			t.Fatal(err)
		}
		if allowed {
			out = append(out, resource+" "+action)
		}
	}
	for _, r := range c.app.AdminResources() {
		check(r, authz.ActionRead)
		check(r, authz.ActionWrite)
	}
	for _, col := range c.app.Collections().All() {
		for _, a := range authz.CollectionActions {
			check(authz.CollectionResource(col.Name), a)
		}
	}
	roles, err := c.app.Authz().RolesOf(c.staffSub)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		out = append(out, "role "+r)
	}
	return out
}

// systemDefinitions describes the system collections with their secrets,
// to see whether an attempt changed any.
func (c *ceiling) systemDefinitions(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, col := range c.app.Collections().All() {
		if !col.System {
			continue
		}
		js, err := json.Marshal(col)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n", js)
		if a := col.Auth; a != nil {
			fmt.Fprintf(&b, "%s %s %s %s %s\n", a.AuthToken.Secret, a.PasswordResetToken.Secret,
				a.EmailChangeToken.Secret, a.VerificationToken.Secret, a.FileToken.Secret)
		}
	}
	return b.String()
}

// TestCeilingViewsOverUserCollections: the restriction leaves what a view
// of user collections needs: CTEs (recursive too), window functions,
// aggregates, casts, JSON table functions and views over views, created
// by staff with admin:schema and listed by a guest; and a superuser's
// later change of a table such a view reads (a rename) still goes
// through.
func TestCeilingViewsOverUserCollections(t *testing.T) {
	t.Parallel()
	c := newCeiling(t, grant(authz.AdminSchema, "*"))
	jsonView := `SELECT p.id || j.value AS id, j.value AS v FROM posts p, json_each('["a","b"]') j`
	if coretest.Dialect() == "postgres" {
		jsonView = `SELECT p.id || e AS id, e AS v FROM posts p, jsonb_array_elements_text('["a","b"]'::jsonb) e`
	}
	views := map[string]string{
		"v_cte":       `WITH t AS (SELECT id, n FROM posts) SELECT id, n * 2 AS dbl FROM t`,
		"v_recursive": `WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 3) SELECT posts.id || '-' || CAST(r.x AS TEXT) AS id, r.x AS x FROM posts, r`,
		"v_window":    `SELECT id, row_number() OVER (ORDER BY n) AS rn, sum(n) OVER () AS total, lag(title) OVER (ORDER BY id) AS prev FROM posts`,
		"v_aggregate": `SELECT title AS id, count(*) AS c, max(n) AS m, avg(n) AS a FROM posts GROUP BY title HAVING count(*) > 0`,
		"v_functions": `SELECT id, CAST(n AS TEXT) AS t, lower(title) AS l, upper(title) AS u, length(title) AS len, coalesce(title, 'x') AS c, CASE WHEN n > 1 THEN 'big' ELSE 'small' END AS size FROM posts WHERE title LIKE 'h%'`,
		"v_nested":    `SELECT id, title FROM posts_view`,
		"v_json":      jsonView,
	}
	for name, query := range views {
		body, _ := json.Marshal(map[string]any{"name": name, "type": "view", "listRule": "", "viewQuery": query})
		if rec := c.as("staff", "POST", "/api/collections", string(body)); rec.Code != http.StatusOK {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body.String())
			continue
		}
		list := c.as("", "GET", "/api/collections/"+name+"/records?sort=id", "")
		if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), `"totalItems":`) || strings.Contains(list.Body.String(), `"totalItems":0`) {
			t.Errorf("%s list: %d %s", name, list.Code, list.Body.String())
		}
	}
	if coretest.Dialect() == "postgres" {
		var owner string
		if err := c.app.DB(context.Background()).Raw(`SELECT viewowner FROM pg_views WHERE viewname = 'v_cte' AND schemaname = current_schema()`).Scan(&owner).Error; err != nil || owner != "hatchgrid_views" {
			t.Errorf("owner of a staff view = %q, %v", owner, err)
		}
	}
	// A superuser renames a table the staff's views read.
	if rec := c.as("superuser", "PATCH", "/api/collections/posts", `{"name":"articles"}`); rec.Code != http.StatusOK {
		t.Fatalf("rename: %d %s", rec.Code, rec.Body.String())
	}
	if list := c.as("", "GET", "/api/collections/v_cte/records?sort=id", ""); list.Code != http.StatusOK {
		t.Errorf("v_cte after the rename: %d %s", list.Code, list.Body.String())
	}
	// A staff member's refused view says why.
	rec := c.as("staff", "POST", "/api/collections", `{"name":"nope","type":"view","viewQuery":"SELECT id FROM _superusers"}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "validation_view_query_restricted") || !strings.Contains(rec.Body.String(), "_superusers") {
		t.Errorf("refused view: %d %s", rec.Code, rec.Body.String())
	}
}
