package migratecmd

import (
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

func TestDependenciesFirst(t *testing.T) {
	rel := func(target string) *core.Field {
		return &core.Field{Name: "r", Type: core.FieldRelation, Options: core.FieldOptions{CollectionID: target}}
	}
	a := &core.Collection{ID: "a", Type: core.CollectionBase, Fields: []*core.Field{rel("b"), rel("a")}}
	v := &core.Collection{ID: "v", Type: core.CollectionView}
	b := &core.Collection{ID: "b", Type: core.CollectionBase, Fields: []*core.Field{rel("c")}}
	c := &core.Collection{ID: "c", Type: core.CollectionAuth, Fields: []*core.Field{rel("a")}} // a cycle
	var got string
	for _, col := range dependenciesFirst([]*core.Collection{v, a, b, c}) {
		got += col.ID
	}
	if got != "cbav" {
		t.Fatalf("order %q, want cbav", got)
	}
}
