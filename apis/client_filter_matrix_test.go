package apis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// matrixTarget is a collection that a client filter reaches into and
// that holds a secret the caller may not read.
type matrixTarget struct {
	name, kind string
	// def is the collection's JSON without its relation fields.
	def string
	// field is the probed text field and multi the probed field of
	// several values (only the email changes in the email target, whose
	// other fields are no secret); over is a length that only the first
	// secret record of world A and neither record of world B exceeds.
	field, multi string
	over         int
}

// matrixTargets are the kinds of collection a client filter must not
// read: superusers-only, restricted by its listRule, denied by Casbin, a
// hidden field, a hidden email. Each world puts secrets in two records of
// each (see matrixWorlds).
func matrixTargets() []matrixTarget {
	fields := func(hidden bool) string {
		return fmt.Sprintf(`[{"name":"value","type":"text","hidden":%v},{"name":"tags","type":"select","values":["alpha","bravo"],"maxSelect":2,"hidden":%v},{"name":"open","type":"bool"}]`, hidden, hidden)
	}
	return []matrixTarget{
		{name: "t_null", multi: "tags", kind: "null listRule", field: "value", over: 12,
			def: `{"name":"t_null","fields":` + fields(false) + `}`},
		{name: "t_rule", multi: "tags", kind: "listRule", field: "value", over: 12,
			def: `{"name":"t_rule","listRule":"open = true","viewRule":"open = true","fields":` + fields(false) + `}`},
		{name: "t_casbin", multi: "tags", kind: "Casbin-denied", field: "value", over: 12,
			def: `{"name":"t_casbin","listRule":"","viewRule":"","fields":` + fields(false) + `}`},
		{name: "t_hidden", multi: "tags", kind: "hidden field", field: "value", over: 12,
			def: `{"name":"t_hidden","listRule":"","viewRule":"","fields":` + fields(true) + `}`},
		{name: "t_email", kind: "hidden email", field: "email", multi: "email", over: 19,
			def: `{"name":"t_email","type":"auth","listRule":"","viewRule":"","fields":` + fields(false) + `}`},
	}
}

// matrixWorld is what the two secret records of every target hold. Between
// world A and world B every probe changes its answer for a caller who
// reads the secrets: a contains match, the order of the values, of their
// lengths, and a length and an :each match.
type matrixWorld struct {
	value, email [2]string
	tags         [2][]string
}

var matrixWorlds = [2]matrixWorld{
	{value: [2]string{"alpha-secret-long", "bravo"}, email: [2]string{"alpha-secret-long@x.test", "bravo@x.test"}, tags: [2][]string{{"alpha"}, {"bravo"}}},
	{value: [2]string{"echo", "delta-secret"}, email: [2]string{"echo@x.test", "delta-secret@x.test"}, tags: [2][]string{{"bravo"}, {"bravo"}}},
}

// matrixProbe gives, for a modifier of core.FilterModifiers, a filter and a
// sort key over path prefix p (empty or ending in a dot) that depend on
// the secrets of target t.
func matrixProbe(modifier string, p string, t matrixTarget) (filter, sort string, ok bool) {
	switch modifier {
	case "":
		return fmt.Sprintf("%s%s ?~ 'alpha'", p, t.field), p + t.field, true
	case "lower":
		return fmt.Sprintf("%s%s:lower ?~ 'alpha'", p, t.field), p + t.field + ":lower", true
	case "length":
		return fmt.Sprintf("%s%s:length ?> %d", p, t.field, t.over), p + t.field + ":length", true
	case "each":
		return p + t.multi + ":each ?= 'alpha'", p + t.multi + ":each", true
	}
	return "", "", false
}

// matrixShape is how a request reaches a target: listing it ("self"), or
// from posts through one of core.FilterJoins, directly or nested behind a
// relation to hops.
type matrixShape struct {
	name string
	// base is the collection listed; prefix the path to the target's
	// fields (with its final dot); expand the expand path, if any.
	base, prefix, expand func(t matrixTarget) string
}

func matrixShapes() []matrixShape {
	self := func(t matrixTarget) string { return t.name }
	posts := func(matrixTarget) string { return "posts" }
	shapes := []matrixShape{{name: "self", base: self, prefix: func(matrixTarget) string { return "" }}}
	for _, j := range core.FilterJoins() {
		// from names the collection the step starts in: posts, or hops
		// behind posts.hop.
		step := func(from string, t matrixTarget) string {
			switch {
			case j.Root:
				return j.Step("", t.name)
			case j.Back && j.Multiple:
				return j.Step(from+"_m", t.name)
			case j.Back:
				return j.Step(strings.TrimSuffix(from, "s"), t.name)
			case j.Multiple:
				return j.Step("multi_"+t.name, t.name)
			}
			return j.Step("rel_"+t.name, t.name)
		}
		direct := func(t matrixTarget) string { return step("posts", t) }
		shapes = append(shapes, matrixShape{name: j.Kind, base: posts,
			prefix: func(t matrixTarget) string { return direct(t) + "." }, expand: direct})
		if j.Root {
			continue
		}
		nested := func(t matrixTarget) string { return "hop." + step("hops", t) }
		shapes = append(shapes, matrixShape{name: "nested " + j.Kind, base: posts,
			prefix: func(t matrixTarget) string { return nested(t) + "." }, expand: nested})
	}
	for i := range shapes {
		if shapes[i].name == "self" || strings.HasPrefix(shapes[i].prefix(matrixTargets()[0]), "@") {
			shapes[i].expand = nil // lists and @collection do not expand
		}
	}
	return shapes
}

// matrixCase is one request of the matrix, made in both worlds.
type matrixCase struct {
	name, caller, path string
	// sensitive is set when a superuser's answer must change with the
	// world (when it is a 200 both times), which shows that the probe
	// reaches the secrets.
	sensitive bool
	// refused is set when a non-superuser must be refused (400 or 403).
	refused bool
}

// TestClientFilterMatrix is the cross-collection filter matrix: every way a
// client filter reaches another collection (core.FilterJoins, directly and
// nested, plus listing the target itself) x every field modifier
// (core.FilterModifiers) x every kind of secret (matrixTargets) x guest,
// user and superuser x filter, sort and expand. Each request is made in two
// worlds whose secrets differ; a guest's or a user's answer must be the
// same in both, a superuser's must differ wherever it is a 200. Hidden
// system fields (password, tokenKey) must be refused outright.
func TestClientFilterMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	m := newFilterMatrix(t, e)
	cases := m.cases(t)
	var answers [2][]string
	for w := range matrixWorlds {
		m.setWorld(t, matrixWorlds[w])
		for _, c := range cases {
			rec := e.do(scenario{path: c.path, token: m.tokens[c.caller]})
			answers[w] = append(answers[w], fmt.Sprintf("%d %s", rec.Code, rec.Body.String()))
		}
	}
	failures := 0
	for i, c := range cases {
		if msg := c.check(answers[0][i], answers[1][i]); msg != "" {
			t.Error(msg)
			if failures++; failures == 40 {
				t.Fatal("too many failures")
			}
		}
	}
	t.Logf("%d cases (%d joins x modifiers x %d targets x 3 callers x filter/sort/expand, plus hidden system fields), each in two worlds",
		len(cases), len(core.FilterJoins()), len(matrixTargets()))
}

// check compares the answers a (world A) and b (world B) to c and says
// what is wrong, if anything.
func (c matrixCase) check(a, b string) string {
	status := a[:3]
	switch {
	case strings.HasPrefix(a, "500") || strings.HasPrefix(b, "500"):
		return fmt.Sprintf("%s: a 500: %.300s", c.name, a)
	case c.caller == "superuser":
		if c.sensitive && status == "200" && a == b {
			return fmt.Sprintf("%s: the superuser's answer does not depend on the secrets, so the probe proves nothing: %.300s", c.name, a)
		}
	case a != b:
		return fmt.Sprintf("LEAK %s, %s:\n world A: %.400s\n world B: %.400s", c.name, c.caller, a, b)
	case c.refused && status != "400" && status != "403":
		return fmt.Sprintf("%s, %s: %.300s, want a 400 or 403", c.name, c.caller, a)
	}
	return ""
}

// filterMatrix is the matrix's data: posts P1 and P2, each behind a hop
// (H1, H2) and each related both ways to the secret record S1 or S2 of every
// target.
type filterMatrix struct {
	app     *core.App
	tokens  map[string]string
	secrets map[string][2]string // target -> ids of S1, S2
}

func newFilterMatrix(t *testing.T, e *env) *filterMatrix {
	t.Helper()
	ctx := context.Background()
	app := e.app
	m := &filterMatrix{app: app, secrets: map[string][2]string{}}
	mustCollection(t, app, `{"name":"users","type":"auth","listRule":"","viewRule":""}`)
	mustCollection(t, app, `{"name":"hops","listRule":"","viewRule":""}`)
	mustCollection(t, app, `{"name":"posts","listRule":"","viewRule":"","fields":[{"name":"title","type":"text"},{"name":"hop","type":"relation","collectionId":"hops"}]}`)
	var postFields, hopFields []string
	for _, tg := range matrixTargets() {
		var in map[string]any
		if err := json.Unmarshal([]byte(tg.def), &in); err != nil {
			t.Fatal(err)
		}
		var fields []any
		json.Unmarshal([]byte(`[{"name":"post","type":"relation","collectionId":"posts"},{"name":"posts_m","type":"relation","collectionId":"posts","maxSelect":9},
			{"name":"hop","type":"relation","collectionId":"hops"},{"name":"hops_m","type":"relation","collectionId":"hops","maxSelect":9}]`), &fields)
		in["fields"] = append(in["fields"].([]any), fields...)
		def, _ := json.Marshal(in)
		mustCollection(t, app, string(def))
		rels := fmt.Sprintf(`{"name":"rel_%s","type":"relation","collectionId":"%s"},{"name":"multi_%s","type":"relation","collectionId":"%s","maxSelect":9}`, tg.name, tg.name, tg.name, tg.name)
		postFields, hopFields = append(postFields, rels), append(hopFields, rels)
	}
	addFields(t, app, "posts", "["+strings.Join(postFields, ",")+"]")
	addFields(t, app, "hops", "["+strings.Join(hopFields, ",")+"]")
	for _, act := range []string{"list", "view"} {
		p := authz.Policy{Subject: "*", Resource: authz.CollectionResource("t_casbin"), Action: act, Effect: "deny"}
		if _, err := app.Authz().AddPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	var hops, posts [2]*core.Record
	for i := range 2 {
		hops[i] = mustRecord(t, app, "hops", nil)
		posts[i] = mustRecord(t, app, "posts", map[string]any{"title": fmt.Sprintf("p%d", i+1), "hop": hops[i].ID()})
	}
	a := matrixWorlds[0]
	for _, tg := range matrixTargets() {
		var ids [2]string
		for i := range 2 {
			body := map[string]any{"post": posts[i].ID(), "posts_m": []string{posts[i].ID()}, "hop": hops[i].ID(), "hops_m": []string{hops[i].ID()},
				"value": a.value[i], "tags": a.tags[i]}
			if tg.field == "email" {
				body["email"], body["password"], body["passwordConfirm"] = a.email[i], "Secret12345", "Secret12345"
			}
			ids[i] = mustRecord(t, app, tg.name, body).ID()
			for _, r := range []*core.Record{posts[i], hops[i]} {
				update(t, app, r.Collection().Name, r.ID(), map[string]any{"rel_" + tg.name: ids[i], "multi_" + tg.name: []string{ids[i]}})
			}
		}
		m.secrets[tg.name] = ids
	}
	user := account(t, app, "users", "user@example.com")
	m.tokens = map[string]string{"guest": "", "user": tokenOf(t, app, user), "superuser": "superuser"}
	return m
}

func addFields(t *testing.T, app *core.App, collection, fields string) {
	t.Helper()
	c, err := app.Collections().Find(collection)
	if err != nil {
		t.Fatal(err)
	}
	var more []*core.Field
	if err := json.Unmarshal([]byte(fields), &more); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(c.Fields), more...)
	if _, err := app.Collections().Update(context.Background(), collection, &core.CollectionInput{Fields: &all}); err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, app *core.App, collection, id string, body map[string]any) {
	t.Helper()
	c, err := app.Collections().Find(collection)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Records().Update(core.AsSystem(context.Background()), c, id, body); err != nil {
		t.Fatalf("update %s/%s: %v", collection, id, err)
	}
}

// setWorld writes w's secrets into S1 and S2 of every target.
func (m *filterMatrix) setWorld(t *testing.T, w matrixWorld) {
	t.Helper()
	for _, tg := range matrixTargets() {
		for i, id := range m.secrets[tg.name] {
			body := map[string]any{"value": w.value[i], "tags": w.tags[i]}
			if tg.field == "email" {
				body = map[string]any{"email": w.email[i]}
			}
			update(t, m.app, tg.name, id, body)
		}
	}
}

// cases generates the matrix from core's lists of joins and modifiers.
func (m *filterMatrix) cases(t *testing.T) []matrixCase {
	t.Helper()
	var out []matrixCase
	add := func(c matrixCase) {
		for _, caller := range []string{"guest", "user", "superuser"} {
			c.caller = caller
			out = append(out, c)
		}
	}
	for _, sh := range matrixShapes() {
		for _, tg := range matrixTargets() {
			list := "/api/collections/" + sh.base(tg) + "/records?"
			for _, mod := range core.FilterModifiers() {
				f, s, ok := matrixProbe(mod, sh.prefix(tg), tg)
				if !ok {
					t.Fatalf("no probe for the modifier %q: add one to matrixProbe", mod)
				}
				name := fmt.Sprintf("%s into %s (%s), modifier %q", sh.name, tg.name, tg.kind, mod)
				add(matrixCase{name: "filter " + name + ": " + f, path: list + "filter=" + url.QueryEscape(f), sensitive: true})
				add(matrixCase{name: "sort " + name + ": " + s, path: list + "sort=" + url.QueryEscape(s), sensitive: true})
			}
			if sh.expand != nil {
				p := sh.expand(tg)
				add(matrixCase{name: fmt.Sprintf("expand %s into %s (%s): %s", sh.name, tg.name, tg.kind, p), path: list + "expand=" + url.QueryEscape(p), sensitive: true})
			}
			if tg.field == "email" {
				for _, f := range []string{"password", "tokenKey"} {
					expr := sh.prefix(tg) + f + " ?~ 'a'"
					add(matrixCase{name: fmt.Sprintf("filter %s into %s: %s", sh.name, tg.name, expr), path: list + "filter=" + url.QueryEscape(expr), refused: true})
				}
			}
		}
	}
	return out
}
