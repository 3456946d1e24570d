package apis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// The rule-bypass matrix (issue 15): every modifier a rule may put on
// @request.body.<field> x every way a client may write a value (each body
// media type, @jsonPayload, a batch item) x every body key form (plain and
// each key modifier) x every field type that takes key modifiers x create
// and update. Each cell sends a value the rule forbids and checks it is
// refused, or one it allows and checks it passes and is what got stored.
// The lists come from the code (core.RequestBodyModifiers,
// core.KeyModifiers, core.FieldKeyModifiers, core.FieldTypes,
// apis.BodyMediaTypes); TestRuleMatrixListsAreComplete fails when one of
// them grows something the matrix has no entry for.

// val is a field value of the model: a number, or a list of tokens
// ("a".."d") that stand for select values, relation ids or files.
type val struct {
	n    float64
	toks []string
}

func (v val) String() string {
	if v.toks == nil {
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	}
	return "[" + strings.Join(v.toks, ",") + "]"
}

func (v val) equal(w val) bool { return v.n == w.n && slices.Equal(v.toks, w.toks) }

func toks(t ...string) val { return val{toks: append([]string{}, t...)} }

var matrixTokens = []string{"a", "b", "c", "d"}

// kind is a field type that takes key modifiers, single- or multi-valued.
type kind struct {
	typ   string
	multi bool
}

func (k kind) name() string {
	if k.multi {
		return k.typ + "-multi"
	}
	return k.typ
}

func (k kind) number() bool { return k.typ == core.FieldNumber }

// fieldJSON is the definition of a field of kind k named name.
func (k kind) fieldJSON(name string) string {
	maxSelect := 1
	if k.multi {
		maxSelect = 3
	}
	switch k.typ {
	case core.FieldNumber:
		return `{"name":"` + name + `","type":"number"}`
	case core.FieldSelect:
		return fmt.Sprintf(`{"name":%q,"type":"select","values":["A","B","C","D"],"maxSelect":%d}`, name, maxSelect)
	case core.FieldRelation:
		return fmt.Sprintf(`{"name":%q,"type":"relation","collectionId":"targets","maxSelect":%d}`, name, maxSelect)
	case core.FieldFile:
		return fmt.Sprintf(`{"name":%q,"type":"file","maxSelect":%d,"maxSize":1000}`, name, maxSelect)
	}
	return ""
}

// wire is the value a token is sent and stored as (files: see fileName).
func (k kind) wire(tok string) string {
	switch k.typ {
	case core.FieldSelect:
		return strings.ToUpper(tok)
	case core.FieldRelation:
		return strings.Repeat(tok, 15)
	}
	return tok
}

// literal is v as a rule literal, in the form @request.body shows it.
func (k kind) literal(v val) string {
	if k.number() {
		return v.String()
	}
	wires := make([]string, len(v.toks))
	for i, t := range v.toks {
		wires[i] = k.wire(t)
	}
	if !k.multi {
		return strconv.Quote(strings.Join(wires, ""))
	}
	b, _ := json.Marshal(wires)
	return "'" + string(b) + "'"
}

// matrixKinds are the field types that take key modifiers, in each
// cardinality their options allow.
func matrixKinds() []kind {
	var out []kind
	for _, typ := range core.FieldTypes() {
		if len(core.FieldKeyModifiers(typ)) == 0 {
			continue
		}
		out = append(out, kind{typ: typ})
		if typ != core.FieldNumber {
			out = append(out, kind{typ: typ, multi: true})
		}
	}
	return out
}

// resolve is the model of a key modifier: the value mod with payload p
// gives a field holding s.
func (k kind) resolve(s val, mod core.KeyModifier, p val) val {
	if k.number() {
		switch mod {
		case core.ModifierAppend:
			return val{n: s.n + p.n}
		case core.ModifierRemove:
			return val{n: s.n - p.n}
		}
		return p
	}
	var next []string
	switch mod {
	case core.ModifierAppend:
		next = append(slices.Clone(s.toks), p.toks...)
	case core.ModifierPrepend:
		next = append(slices.Clone(p.toks), s.toks...)
	case core.ModifierRemove:
		next = slices.DeleteFunc(slices.Clone(s.toks), func(x string) bool { return slices.Contains(p.toks, x) })
	default:
		next = slices.Clone(p.toks)
	}
	out := []string{}
	for _, t := range next {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if !k.multi && len(out) > 1 {
		out = out[len(out)-1:]
	}
	return toks(out...)
}

// tokenLists are the lists of distinct tokens up to n long.
func tokenLists(n int) []val {
	out := []val{toks()}
	frontier := []val{toks()}
	for i := 0; i < n; i++ {
		var next []val
		for _, l := range frontier {
			for _, t := range matrixTokens {
				if !slices.Contains(l.toks, t) {
					next = append(next, toks(append(slices.Clone(l.toks), t)...))
				}
			}
		}
		out, frontier = append(out, next...), next
	}
	return out
}

// reach finds a stored value s (the default on create) and a payload p
// that give target when sent with mod in form f, with s accepted by
// keep; false when no such pair exists (removing from a new record's
// empty list gives nothing else, JSON cannot upload files).
func (k kind) reach(create bool, f writeForm, mod core.KeyModifier, target val, keep func(s val) bool) (s, p val, ok bool) {
	if k.number() {
		stored := []val{{n: 10}, target}
		if create {
			stored = []val{{n: 0}}
		}
		for _, s := range stored {
			if !keep(s) {
				continue
			}
			switch mod {
			case core.ModifierAppend:
				return s, val{n: target.n - s.n}, true
			case core.ModifierRemove:
				return s, val{n: s.n - target.n}, true
			}
			return s, target, true
		}
		return val{}, val{}, false
	}
	stored := []val{toks()}
	if !create {
		max := 1
		if k.multi {
			max = 3
		}
		stored = tokenLists(max)
	}
	for _, s := range stored {
		if !keep(s) {
			continue
		}
		for _, p := range tokenLists(3) {
			if k.typ == core.FieldFile && !f.canSendFiles(s, mod, p) {
				continue
			}
			if k.resolve(s, mod, p).equal(target) {
				return s, p, true
			}
		}
	}
	return val{}, val{}, false
}

// canSendFiles reports whether f can send payload p of a file field that
// holds s: tokens s has are sent as its stored names, others are uploads,
// which only multipart bodies carry, and which a modifier key may not mix
// with names (the uploads replace the names, as in PocketBase).
func (f writeForm) canSendFiles(s val, mod core.KeyModifier, p val) bool {
	uploads := 0
	for _, t := range p.toks {
		if !slices.Contains(s.toks, t) {
			uploads++
		}
	}
	switch {
	case uploads == 0:
		return true
	case !f.uploads || mod == core.ModifierRemove:
		return false
	}
	return mod == "" || uploads == len(p.toks)
}

// macro is what the matrix does with one of core.RequestBodyModifiers():
// the rule it guards field f with, and the values a write must not and
// may reach.
type macro struct {
	applies   func(k kind) bool
	rule      func(k kind) string
	bad, good func(k kind) val
	// onTwin sends the allowed write to the other field (for :isset).
	onTwin bool
	// changed marks :changed: the allowed write leaves the stored value as
	// it is, the refused one changes it, and on create nothing is changed
	// (the rule sees the new record), so both pass, as in PocketBase.
	changed bool
}

func badVal(k kind) val {
	switch {
	case k.number():
		return val{n: 15}
	case k.multi:
		return toks("a", "b", "c")
	}
	return toks("c")
}

func goodVal(k kind) val {
	if k.number() {
		return val{n: 12}
	}
	return toks("a")
}

// fileHasC is the rule's test that a file value holds the file of token
// c, a stored name or an upload (shown as {"name","originalName","size"}).
const fileHasC = `"cccfile"`

var matrixMacros = map[string]macro{
	"": {applies: func(kind) bool { return true }, bad: badVal, good: goodVal,
		rule: func(k kind) string {
			if k.typ == core.FieldFile {
				return "@request.body.f !~ " + fileHasC
			}
			return "@request.body.f != " + k.literal(badVal(k))
		}},
	"isset": {applies: func(kind) bool { return true }, bad: badVal, good: badVal, onTwin: true,
		rule: func(kind) string { return "@request.body.f:isset = false" }},
	"changed": {applies: func(kind) bool { return true }, bad: badVal, good: goodVal, changed: true,
		rule: func(kind) string { return "@request.body.f:changed = false" }},
	"length": {applies: func(k kind) bool { return k.multi }, bad: badVal, good: goodVal,
		rule: func(kind) string { return "@request.body.f:length != 3" }},
	"each": {applies: func(k kind) bool { return k.multi }, bad: badVal, good: goodVal,
		rule: func(k kind) string {
			if k.typ == core.FieldFile {
				return "@request.body.f:each !~ " + fileHasC
			}
			return "@request.body.f:each != " + strconv.Quote(k.wire("c"))
		}},
	"lower": {applies: func(k kind) bool { return k.typ == core.FieldSelect || k.typ == core.FieldRelation }, bad: badVal, good: goodVal,
		rule: func(k kind) string { return "@request.body.f:lower != " + strings.ToLower(k.literal(badVal(k))) }},
}

// writeForm is one way of sending a record write.
type writeForm struct {
	name    string
	media   string // the Content-Type; "" for a batch item
	payload bool   // the fields go in an @jsonPayload part
	uploads bool   // files can be sent
}

var matrixForms = []writeForm{
	{name: "json", media: "application/json"},
	{name: "urlencoded", media: "application/x-www-form-urlencoded"},
	{name: "multipart", media: "multipart/form-data", uploads: true},
	{name: "jsonpayload", media: "multipart/form-data", payload: true, uploads: true},
	{name: "batch"},
}

// keyForms are the ways a body key may name a field: plainly or with
// each key modifier.
func keyForms() []core.KeyModifier { return append([]core.KeyModifier{""}, core.KeyModifiers()...) }

func TestRuleMatrixListsAreComplete(t *testing.T) {
	t.Parallel()
	for _, m := range core.RequestBodyModifiers() {
		if _, ok := matrixMacros[m]; !ok {
			t.Errorf("@request.body modifier %q has no entry in matrixMacros", m)
		}
	}
	for m := range matrixMacros {
		if !slices.Contains(core.RequestBodyModifiers(), m) {
			t.Errorf("matrixMacros has %q, which the resolver does not take", m)
		}
	}
	for _, media := range apis.BodyMediaTypes() {
		if !slices.ContainsFunc(matrixForms, func(f writeForm) bool { return f.media == media }) {
			t.Errorf("body media type %s has no write form in matrixForms", media)
		}
	}
	for _, k := range matrixKinds() {
		if k.fieldJSON("f") == "" {
			t.Errorf("field type %s takes key modifiers but the matrix cannot define one", k.typ)
		}
	}
	for _, typ := range core.FieldTypes() {
		if _, ok := modifierSamples[typ]; !ok {
			t.Errorf("field type %s has no value in modifierSamples", typ)
		}
	}
}

// matrixEnv is an app with batch enabled, the relation targets, and a
// collection per (kind, macro) whose create and update rules are the
// macro's guard on its field f (g is its twin).
type matrixEnv struct {
	*env
	cells atomic.Int64
}

func newMatrixEnv(t *testing.T) *matrixEnv {
	e := newBatchEnv(t, func(b *core.BatchSettings) { b.MaxRequests = 5 })
	mustCollection(t, e.app, `{"name":"targets","id":"targets","fields":[{"name":"name","type":"text"}]}`)
	c, _ := e.app.Collections().Find("targets")
	for _, tok := range matrixTokens {
		if _, err := e.app.Records().Create(core.AsSystem(context.Background()), c, map[string]any{"id": strings.Repeat(tok, 15)}); err != nil {
			t.Fatal(err)
		}
	}
	return &matrixEnv{env: e}
}

func collectionName(k kind, m string) string {
	if m == "" {
		m = "value"
	}
	return "m_" + strings.ReplaceAll(k.name(), "-", "_") + "_" + m
}

func TestRuleBypassMatrix(t *testing.T) {
	t.Parallel()
	e := newMatrixEnv(t)
	for _, k := range matrixKinds() {
		for _, m := range core.RequestBodyModifiers() {
			mc := matrixMacros[m]
			if !mc.applies(k) {
				continue
			}
			rule := mc.rule(k)
			name := collectionName(k, m)
			mustCollection(t, e.app, fmt.Sprintf(`{"name":%q,"viewRule":"","createRule":%q,"updateRule":%q,"fields":[%s,%s]}`,
				name, rule, rule, k.fieldJSON("f"), k.fieldJSON("g")))
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				for _, f := range matrixForms {
					for _, mod := range keyForms() {
						if mod != "" && !slices.Contains(core.FieldKeyModifiers(k.typ), mod) {
							continue // TestUnsupportedModifierMatrix
						}
						for _, create := range []bool{true, false} {
							e.runCells(t, name, k, mc, f, mod, create)
						}
					}
				}
			})
		}
	}
	t.Cleanup(func() { t.Logf("rule-bypass matrix: %d cells on %s", e.cells.Load(), e.app.Dialect().Name()) })
}

// runCells runs the refused and the allowed write of one cell, each when
// the form can reach it.
func (e *matrixEnv) runCells(t *testing.T, collection string, k kind, mc macro, f writeForm, mod core.KeyModifier, create bool) {
	action := "update"
	if create {
		action = "create"
	}
	for _, refused := range []bool{true, false} {
		target, field := mc.good(k), "f"
		keep := func(val) bool { return true }
		switch {
		case refused:
			target = mc.bad(k)
			if mc.changed && !create {
				keep = func(s val) bool { return !s.equal(target) }
			}
		case mc.onTwin:
			field = "g"
		case mc.changed && !create:
			keep = func(s val) bool { return s.equal(target) }
		}
		s, p, ok := k.reach(create, f, mod, target, keep)
		if !ok {
			continue
		}
		wantRefused := refused && !(mc.changed && create)
		name := fmt.Sprintf("%s/%s/%s/%s/refused=%v", f.name, mod.Key(field), action, target, wantRefused)
		t.Run(name, func(t *testing.T) {
			e.cells.Add(1)
			e.runCell(t, cell{collection: collection, k: k, form: f, mod: mod, field: field, create: create,
				stored: s, payload: p, final: target, wantRefused: wantRefused})
		})
	}
}

// cell is one write of the matrix.
type cell struct {
	collection  string
	k           kind
	form        writeForm
	mod         core.KeyModifier
	field       string
	create      bool
	stored      val // the record's value before an update
	payload     val
	final       val
	wantRefused bool
}

func (e *matrixEnv) runCell(t *testing.T, c cell) {
	col, err := e.app.Collections().Find(c.collection)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	names := map[string]string{} // file token -> stored name
	if !c.create {
		id, names = e.seed(t, col, c.k, c.field, c.stored)
	}
	before := recordCount(t, e.app, c.collection)
	status, body := e.send(t, c, id, names)

	if c.wantRefused {
		want := http.StatusNotFound
		if c.create {
			want = http.StatusBadRequest
		}
		if status != want {
			t.Fatalf("rule did not refuse %s: %d %s", c.final, status, body)
		}
		if after := recordCount(t, e.app, c.collection); after != before {
			t.Fatalf("refused write stored a record: %d -> %d", before, after)
		}
		if !c.create {
			if got := e.stored(t, col, c.k, id, c.field); !got.equal(c.stored) {
				t.Fatalf("refused update changed %s to %s", c.stored, got)
			}
		}
		return
	}
	if status != http.StatusOK {
		t.Fatalf("rule refused %s: %d %s", c.final, status, body)
	}
	if c.create {
		var rec struct{ ID string }
		json.Unmarshal([]byte(body), &rec)
		id = rec.ID
	}
	if got := e.stored(t, col, c.k, id, c.field); !got.equal(c.final) {
		t.Fatalf("stored %s, the rule allowed %s", got, c.final)
	}
}

// seed stores a record whose field holds v and returns its id and, for
// files, the stored name of each token.
func (e *matrixEnv) seed(t *testing.T, col *core.Collection, k kind, field string, v val) (string, map[string]string) {
	t.Helper()
	body := map[string]any{}
	switch {
	case k.number():
		body[field] = v.n
	case k.typ == core.FieldFile:
		files := []any{}
		for _, tok := range v.toks {
			files = append(files, filesystem.NewFileFromBytes([]byte("x"), tok+tok+tok+"file.txt"))
		}
		body[field] = files
	default:
		wires := []string{}
		for _, tok := range v.toks {
			wires = append(wires, k.wire(tok))
		}
		body[field] = wires
	}
	rec, err := e.app.Records().Create(core.AsSystem(context.Background()), col, body)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, name := range listOf(rec.Get(field)) {
		names[fileToken(name)] = name
	}
	return rec.ID(), names
}

// stored reads the field of a stored record back as a model value.
func (e *matrixEnv) stored(t *testing.T, col *core.Collection, k kind, id, field string) val {
	t.Helper()
	rec, err := e.app.Records().Find(context.Background(), col, id)
	if err != nil {
		t.Fatal(err)
	}
	if k.number() {
		n, _ := strconv.ParseFloat(rec.GetString(field), 64)
		return val{n: n}
	}
	out := toks()
	for _, w := range listOf(rec.Get(field)) {
		switch k.typ {
		case core.FieldFile:
			w = fileToken(w)
		default:
			w = strings.ToLower(w[:1])
		}
		out.toks = append(out.toks, w)
	}
	return out
}

// fileToken is the token of a stored file name ("aaafile_xxxxxxxxxx.txt").
func fileToken(name string) string { return name[:1] }

func listOf(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case string:
		if x != "" {
			return []string{x}
		}
	}
	return nil
}
