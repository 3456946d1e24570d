package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// TestResolveBody checks the one place a write's body becomes final field
// values, against the stored record on update and the defaults on create.
func TestResolveBody(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	c, err := app.Collections().Create(ctx, input(t, `{"name":"items","fields":[
		{"name":"title","type":"text"},{"name":"credits","type":"number"},{"name":"flag","type":"bool"},
		{"name":"tags","type":"select","values":["a","b","c"],"maxSelect":3},
		{"name":"role","type":"select","values":["a","b"]},{"name":"when","type":"date"},
		{"name":"secret","type":"text","hidden":true},
		{"name":"docs","type":"file","maxSelect":3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	su := &core.RequestInfo{Actor: core.SystemActor()}
	stored, err := app.Records().Create(core.WithRequest(ctx,
		su), c, map[string]any{"credits": 10, "tags": []string{"a", "b"}, "role": "a",
		"docs": []any{filesystem.NewFileFromBytes([]byte("x"), "one.txt")}})

	if err != nil {
		t.Fatal(err)
	}
	doc := stored.GetString("docs") // one name
	if docs := stored.Get("docs").([]string); len(docs) == 1 {
		doc = docs[0]
	}
	guest := &core.RequestInfo{}
	cases := []struct {
		name string
		id   string
		req  *core.RequestInfo
		body map[string]any
		want map[string]any
	}{
		{"number modifiers on update", stored.ID(), guest, map[string]any{"credits+": 5, "credits-": 2}, map[string]any{"credits": 13.0}},
		{"plain then modifier", stored.ID(), guest, map[string]any{"credits": 1, "credits+": 1}, map[string]any{"credits": 2.0}},
		{"number modifiers on create", "", guest, map[string]any{"credits-": 4}, map[string]any{"credits": -4.0}},
		{"list modifiers", stored.ID(), guest, map[string]any{"tags+": "c", "+tags": []any{"c", "a"}, "tags-": "b"},
			map[string]any{"tags": []string{"c", "a"}}},
		{"single select keeps the last", "", guest, map[string]any{"role+": []any{"a", "b"}}, map[string]any{"role": "b"}},
		{"plain values normalized", "", guest, map[string]any{"credits": "12", "flag": "yes", "tags": "a", "when": "2024-01-02"},
			map[string]any{"credits": 12.0, "flag": false, "tags": []string{"a"}, "when": "2024-01-02 00:00:00.000Z"}},
		{"unknown keys kept", "", guest, map[string]any{"nope": 1, "nope+": 2, "passwordConfirm": "x"},
			map[string]any{"nope": 1, "nope+": 2, "passwordConfirm": "x"}},
		{"unsupported modifiers left for Create and Update to refuse", "", guest, map[string]any{"title+": "x", "flag-": true},
			map[string]any{"title+": "x", "flag-": true}},
		{"hidden fields dropped for others", "", guest, map[string]any{"secret": "s", "secret+": "t"}, map[string]any{}},
		{"hidden fields kept for superusers", "", su, map[string]any{"secret": "s"}, map[string]any{"secret": "s"}},
		{"file names removed", stored.ID(), guest, map[string]any{"docs-": doc}, map[string]any{"docs": []any{}}},
		{"file names kept", stored.ID(), guest, map[string]any{"docs+": []any{doc}}, map[string]any{"docs": []any{doc}}},
		{"missing record resolves against the defaults", "aaaaaaaaaaaaaaa", guest, map[string]any{"credits+": 1}, map[string]any{"credits": 1.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := app.Records().ResolveBody(core.WithRequest(ctx, tc.req), c, tc.id, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
			again, err := app.Records().ResolveBody(core.WithRequest(ctx, tc.req), c, tc.id, got)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("resolving again gave %#v, %v", again, err)
			}
		})
	}

	up := filesystem.NewFileFromBytes([]byte("hello"), "two.txt")
	got, err := app.Records().ResolveBody(core.WithRequest(ctx, guest), c, stored.ID(), map[string]any{"docs+": []any{up}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{doc, up}; !reflect.DeepEqual(got["docs"], want) {
		t.Fatalf("docs+ upload = %#v, want %#v", got["docs"], want)
	}
}

// TestRequestBodyModifiersAreTheResolversOnly checks that the list the
// rule-bypass matrix is generated from is exactly what the resolver
// takes after @request.body.x: each listed modifier compiles, and every
// other modifier name a filter may use is refused.
func TestRequestBodyModifiersAreTheResolversOnly(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	c, err := app.Collections().Create(context.Background(), input(t, `{"name":"items","fields":[{"name":"tags","type":"select","values":["a","b"],"maxSelect":2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	listed := core.RequestBodyModifiers()
	others := []string{"excerpt", "upper", "exists", "sum", "first", "last", "count", "changedd", "Lower", "ISSET"}
	for _, m := range append(slices.Clone(listed), others...) {
		expr := "@request.body.tags"
		if m != "" {
			expr += ":" + m
		}
		_, _, err := filter.CompileString(expr+` = "a"`, core.RecordFilterResolver(app, app.Dialect(), c,
			&core.RequestInfo{Body: map[string]any{"tags": []string{"a"}}}, false), app.Dialect())
		if slices.Contains(listed, m) != (err == nil) {
			t.Errorf("@request.body.tags:%s compiles = %v, listed = %v (%v)", m, err == nil, slices.Contains(listed, m), err)
		}
	}
	if fmt.Sprint(listed) != fmt.Sprint([]string{"", "changed", "each", "isset", "length", "lower"}) {
		t.Errorf("RequestBodyModifiers() = %q: update the rule-bypass matrix's docs (docs/security.md)", listed)
	}
	raw, _ := json.Marshal(core.KeyModifiers())
	if string(raw) != `["append","prepend","remove"]` {
		t.Errorf("KeyModifiers() = %s", raw)
	}
}
