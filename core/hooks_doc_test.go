package core_test

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

// TestHooksCatalogue keeps docs/hooks.md true: every On* accessor of the
// App is listed there, and the page lists nothing else.
func TestHooksCatalogue(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/hooks.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(On\\w+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		listed[m[1]] = true
	}

	exposed := map[string]bool{}
	typ := reflect.TypeOf(&core.App{})
	for i := 0; i < typ.NumMethod(); i++ {
		name := typ.Method(i).Name
		if strings.HasPrefix(name, "On") && len(name) > 2 && name[2] >= 'A' && name[2] <= 'Z' {
			exposed[name] = true
		}
	}

	var missing, stale []string
	for name := range exposed {
		if !listed[name] {
			missing = append(missing, name)
		}
	}
	for name := range listed {
		if !exposed[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("hooks missing from docs/hooks.md: %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("docs/hooks.md lists hooks the App does not have: %v", stale)
	}
	if len(exposed) < 10 {
		t.Fatalf("found only %d hooks: the reflection is broken", len(exposed))
	}
}
