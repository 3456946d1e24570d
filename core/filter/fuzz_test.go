package filter_test

import (
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/filter"
)

// FuzzCompile checks that no input makes parsing and compiling panic, and
// that what compiles has one argument per placeholder. The seed corpus is
// in testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`title = 'a' || views > 1 && live = true`,
		`(title ~ "x%" || (views >= 2 && views <= 3)) && live != false`,
		`tags.name ?= 'go' && tags.name != null`,
		`@request.auth.id != '' && title = @request.auth.id`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		sql, args, err := filter.CompileString(expr, fakeResolver{}, fakeDialect{})
		if err != nil {
			return
		}
		if strings.Count(sql, "?") != len(args) {
			t.Fatalf("%q: %d placeholders for %d args: %s", expr, strings.Count(sql, "?"), len(args), sql)
		}
	})
}
