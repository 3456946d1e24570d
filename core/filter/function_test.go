package filter_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/filter"
)

// funcResolver adds functions to fakeResolver: has('x') is true for "a",
// and count(title) stands for a column expression.
type funcResolver struct {
	fakeResolver
	calls [][]filter.Operand
}

func (r *funcResolver) ResolveFunction(name string, args []filter.Operand) (filter.Value, error) {
	r.calls = append(r.calls, args)
	switch name {
	case "@has":
		return filter.Param(len(args) == 1 && args[0].Value == "a"), nil
	case "count":
		return filter.Value{SQL: "LENGTH(t.\"" + args[0].Value + "\")", Type: filter.TypeNumber, NotNull: true}, nil
	}
	return filter.Value{}, fmt.Errorf("%w: no %s", filter.ErrInvalid, name)
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	r := &funcResolver{}
	for _, c := range []struct{ expr, want string }{
		{`@has('a') = true && title = 'x'`, `(1 = 1 AND t."title" = ?)`},
		{`@has('b') = true || views > 1`, `(1 = 0 OR t."views" > ?)`},
		{`count(title) > 3`, `LENGTH(t."title") > ?`},
	} {
		sql, _, err := filter.CompileString(c.expr, r, fakeDialect{})
		if err != nil || sql != c.want {
			t.Errorf("%s: %q %v, want %q", c.expr, sql, err, c.want)
		}
	}
	if a := r.calls[len(r.calls)-1]; len(a) != 1 || a[0].Kind != filter.Identifier || a[0].Value != "title" {
		t.Errorf("arguments = %+v", a)
	}
	if _, _, err := filter.CompileString(`nope('a') = 1`, r, fakeDialect{}); !errors.Is(err, filter.ErrInvalid) {
		t.Errorf("unknown function: %v", err)
	}
	// A resolver without functions refuses them all.
	if _, _, err := filter.CompileString(`@has('a') = true`, fakeResolver{}, fakeDialect{}); !errors.Is(err, filter.ErrInvalid) {
		t.Errorf("plain resolver: %v", err)
	}
}
