package apis_test

import (
	"context"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestAdminCeilingMatrix is the admin-ceiling matrix: each admin resource
// the App knows (the core's and those its plugins add, so a new one joins
// by itself) alone, with read and with write, then every admin resource
// at once, tries every escalation in the list escalations. Each must be
// refused: no combination short of superuser reaches superuser.
func TestAdminCeilingMatrix(t *testing.T) {
	t.Parallel()
	probe := coretest.NewApp(t, coretest.WithAppOptions(core.WithPlugins(ceilingPlugins()...)))
	type row struct {
		name   string
		grants []authz.Policy
	}
	var rows []row
	for _, r := range probe.AdminResources() {
		for _, a := range []string{authz.ActionRead, authz.ActionWrite} {
			rows = append(rows, row{r + " " + a, []authz.Policy{grant(r, a)}})
		}
	}
	var all []authz.Policy
	for _, r := range probe.AdminResources() {
		all = append(all, grant(r, "*"))
	}
	all = append(all, grant("admin:*", "*"), grant("collection:*", "*"))
	rows = append(rows, row{"every admin resource", all})
	if err := probe.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	t.Logf("admin-ceiling matrix: %d grants x %d escalations = %d cases on %s", len(rows), len(escalations), len(rows)*len(escalations), coretest.Dialect())
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			c := newCeiling(t, r.grants...)
			for _, e := range escalations {
				t.Run(e.name, func(t *testing.T) {
					if got := e.try(t, c); got != "" {
						t.Errorf("escalated: %s", got)
					}
				})
			}
		})
	}
}
