package apis_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// slugKind is a field type that core does not know: lowercase words joined
// by "-", at most "max" characters; "field+" appends a word. It exists only
// in this test and reaches the App through its registry alone.
type slugKind struct{ core.FieldKindBase }

func (slugKind) Type() string { return "slug" }

func (slugKind) MarshalOptions(f *core.Field, m map[string]any) {
	max := 0.0
	if f.Options.Max != nil {
		max = *f.Options.Max
	}
	m["max"] = max
}

func (slugKind) Normalize(_ *core.Field, v any) any {
	s, _ := v.(string)
	return strings.Join(strings.Fields(strings.ToLower(s)), "-")
}

func (slugKind) Modifiers() []core.KeyModifier { return []core.KeyModifier{core.ModifierAppend} }

func (k slugKind) Resolve(f *core.Field, cur any, mod core.KeyModifier, v any) any {
	next := k.Normalize(f, v).(string)
	if mod == core.ModifierAppend {
		if s, _ := cur.(string); s != "" {
			next = s + "-" + next
		}
	}
	return next
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (slugKind) Validate(_ context.Context, _ *core.App, f *core.Field, v any) (core.FieldError, bool) {
	s := v.(string)
	if !slugPattern.MatchString(s) {
		return core.FieldError{Code: "validation_invalid_slug", Message: "Invalid slug."}, false
	}
	if f.Options.Max != nil && *f.Options.Max > 0 && len(s) > int(*f.Options.Max) {
		return core.FieldError{Code: "validation_slug_too_long", Message: "Slug too long."}, false
	}
	return core.FieldError{}, true
}

// TestRegisteredFieldKind creates a collection with a field type
// registered by the test, writes, filters and lists its records through
// the API, on the test dialect.
func TestRegisteredFieldKind(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithFieldKinds(slugKind{})))
	e := newEnv(t, app)
	e.run(t, []scenario{
		{
			name: "create collection", method: "POST", path: "/api/collections", token: "superuser",
			body: `{"name":"pages","type":"base","listRule":"","viewRule":"","createRule":"","updateRule":"",
				"fields":[{"name":"slug","type":"slug","max":20,"required":true}]}`,
			wantStatus:  200,
			wantContent: []string{`"type":"slug"`, `"max":20`},
		},
		{
			name: "create record", method: "POST", path: "/api/collections/pages/records",
			body: `{"id":"aaaaaaaaaaaaaaa","slug":"Hello  World"}`, wantStatus: 200,
			wantContent: []string{`"slug":"hello-world"`},
		},
		{
			name: "other record", method: "POST", path: "/api/collections/pages/records",
			body: `{"slug":"second page"}`, wantStatus: 200,
		},
		{
			name: "modifier", method: "PATCH", path: "/api/collections/pages/records/aaaaaaaaaaaaaaa",
			body: `{"slug+":"Again"}`, wantStatus: 200,
			wantContent: []string{`"slug":"hello-world-again"`},
		},
		{
			name: "validation", method: "POST", path: "/api/collections/pages/records",
			body: `{"slug":"far too long for this field"}`, wantStatus: 400,
			wantContent: []string{`"slug":{"code":"validation_slug_too_long"`},
		},
		{
			name: "modifier it does not take", method: "PATCH", path: "/api/collections/pages/records/aaaaaaaaaaaaaaa",
			body: `{"slug-":"again"}`, wantStatus: 400,
			wantContent: []string{`"validation_unsupported_modifier"`},
		},
		{
			name: "filter and list", path: "/api/collections/pages/records?filter=" + url.QueryEscape(`slug~'world-again'`),
			wantStatus:  200,
			wantContent: []string{`"totalItems":1`, `"slug":"hello-world-again"`},
			notContent:  []string{`second-page`},
		},
		{
			name: "list sorted", path: "/api/collections/pages/records?sort=-slug", wantStatus: 200,
			wantContent: []string{`"totalItems":2`, `"slug":"second-page"},{`},
		},
	})

	// A restart reads the collection back with the same kind.
	if err := app.Collections().Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{
		name: "after reload", path: "/api/collections/pages", token: "superuser",
		wantStatus: 200, wantContent: []string{`"type":"slug"`, `"max":20`},
	}})
}

// TestUnregisteredFieldKind: an App without the kind refuses the type.
func TestUnregisteredFieldKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	e.run(t, []scenario{{
		name: "create collection", method: "POST", path: "/api/collections", token: "superuser",
		body:       `{"name":"pages","type":"base","fields":[{"name":"slug","type":"slug"}]}`,
		wantStatus: 400, wantContent: []string{`"validation_in_invalid"`},
	}})
}
