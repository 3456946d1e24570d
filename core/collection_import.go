package core

import (
	"context"
	"fmt"
)

// Import creates or updates every collection in cols (matched by id, then
// by name) in one transaction; with deleteMissing it also deletes the
// non-system collections not listed. Any failure rolls everything back.
func (s *CollectionService) Import(ctx context.Context, cols []*CollectionInput, deleteMissing bool) error {
	if len(cols) == 0 {
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"collections": Required(),
		})
	}
	err := s.app.InTx(ctx, func(ctx context.Context) error {
		keep := map[string]bool{}
		for i, in := range cols {
			if in == nil {
				return Invalid("Failed to import the collections.", map[string]FieldError{
					fmt.Sprintf("collections.%d", i): Required(),
				})
			}
			existing := s.match(in)
			var c *Collection
			var err error
			if existing != nil {
				c, err = s.Update(ctx, existing.ID, in)
			} else {
				c, err = s.Create(ctx, in)
			}
			if err != nil {
				return prefixFields(err, fmt.Sprintf("collections.%d.", i))
			}
			keep[c.ID] = true
		}
		if !deleteMissing {
			return nil
		}
		// Delete dependants first: a relation blocks deleting its target.
		for pending := s.deletable(keep); len(pending) > 0; {
			progressed := false
			var lastErr error
			for id := range pending {
				if err := s.Delete(ctx, id); err != nil {
					lastErr = err
					continue
				}
				delete(pending, id)
				progressed = true
			}
			if !progressed {
				return lastErr
			}
		}
		return nil
	})
	if err != nil {
		// The cache may hold what the rolled-back transaction wrote.
		if rerr := s.Reload(context.WithoutCancel(withoutTx(ctx))); rerr != nil {
			return rerr
		}
		return err
	}
	return nil
}

func (s *CollectionService) match(in *CollectionInput) *Collection {
	if in.ID != nil && *in.ID != "" {
		if c, err := s.Find(*in.ID); err == nil && c.ID == *in.ID {
			return c
		}
		return nil
	}
	if in.Name != nil {
		if c, err := s.Find(*in.Name); err == nil {
			return c
		}
	}
	return nil
}

func (s *CollectionService) deletable(keep map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, c := range s.All() {
		if !c.System && !keep[c.ID] {
			out[c.ID] = true
		}
	}
	return out
}

// prefixFields prefixes the field keys of a validation error, so that an
// import error points at the collection it is about.
func prefixFields(err error, prefix string) error {
	ce, ok := err.(*Error)
	if !ok || len(ce.Fields) == 0 {
		return err
	}
	fields := make(map[string]FieldError, len(ce.Fields))
	for k, v := range ce.Fields {
		fields[prefix+k] = v
	}
	return &Error{Code: ce.Code, Message: ce.Message, Fields: fields, Err: ce.Err}
}

// Scaffolds returns the blank collection of each type, as the dashboard
// offers them: system fields, default indexes and options.
func (s *CollectionService) Scaffolds() map[string]*Collection {
	out := map[string]*Collection{}
	for _, typ := range []string{CollectionBase, CollectionAuth, CollectionView} {
		c := &Collection{Type: typ, Fields: systemFields(typ), Indexes: []string{}}
		if typ == CollectionView {
			c.Fields = []*Field{}
		}
		if typ == CollectionAuth {
			// Create adds the auth indexes, named after the new collection.
			c.Auth = newAuthOptions()
		}
		out[typ] = c
	}
	return out
}
