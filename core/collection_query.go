package core

import (
	"context"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/filter"
)

// collectionResolver resolves the identifiers a collections list can be
// filtered by: the columns of _collections.
type collectionResolver struct{}

func (collectionResolver) Resolve(ident string) (filter.Value, error) {
	switch ident {
	case "id", "name", "type", "created", "updated":
		return filter.Value{SQL: quote(ident), Type: filter.TypeText, NotNull: true}, nil
	case "listRule", "viewRule", "createRule", "updateRule", "deleteRule":
		return filter.Value{SQL: quote(ident), Type: filter.TypeText}, nil
	case "system":
		return filter.Value{SQL: quote(ident), Type: filter.TypeBool, NotNull: true}, nil
	}
	return filter.Value{}, invalidf("unknown collection field %q", ident)
}

// Filter returns the collections matching a filter expression over their
// id, name, type, system, rules and dates, oldest first.
func (s *CollectionService) Filter(ctx context.Context, expr string) ([]*Collection, error) {
	all := s.All()
	if strings.TrimSpace(expr) == "" {
		return all, nil
	}
	where, args, err := filter.CompileString(expr, collectionResolver{}, s.app.dialect)
	if err != nil {
		return nil, Wrap(err, CodeInvalid, "Invalid filter format.")
	}
	var ids []string
	if err := s.app.ReadDB(ctx).Table("_collections").Where(where, args...).Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	keep := make(map[string]bool, len(ids))
	for _, id := range ids {
		keep[id] = true
	}
	out := all[:0]
	for _, c := range all {
		if keep[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}
