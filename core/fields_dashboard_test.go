package core_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

// TestDashboardOffersEveryFieldType checks that the dashboard's list of
// field types (admin-ui/src/lib/fields.ts) has every type the server
// accepts. The dashboard's stored-XSS test (tests/ui/xss.test.mjs) builds
// its collection from that list, so a new type joins it only through here.
func TestDashboardOffersEveryFieldType(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../admin-ui/src/lib/fields.ts")
	if err != nil {
		t.Fatal(err)
	}
	offered := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{ type: "(\w+)", label:`).FindAllStringSubmatch(string(src), -1) {
		offered[m[1]] = true
	}
	types := core.FieldTypes()
	if len(types) < 10 {
		t.Fatalf("server field types %v", types)
	}
	for _, typ := range types {
		if !offered[typ] {
			t.Errorf("the dashboard offers no %q field (FIELD_TYPES in admin-ui/src/lib/fields.ts)", typ)
		}
	}
	if len(offered) != len(types) {
		t.Errorf("the dashboard offers %d field types, the server accepts %d", len(offered), len(types))
	}
}
