package core

import (
	"context"
	"slices"
)

// Delete removes the record id of c if the delete rule lets the caller of ctx, and
// handles the relations that point at it: cascading deletes, removing the
// id from optional relations, refusing when a required one would be left
// empty.
func (s *RecordService) Delete(ctx context.Context, c *Collection, id string) error {
	req := RequestFrom(ctx)
	if c.IsView() {
		return Errorf(CodeInvalid, "Unsupported collection type.")
	}
	var deleted *Record
	removed := map[string]bool{} // "<collectionId>/<recordId>": row deleted
	err := s.app.InTx(ctx, func(ctx context.Context) error {
		rec, err := s.findWithRule(ctx, c, id, "delete", req)
		if err != nil {
			return err
		}
		deleted = rec
		return s.delete(ctx, rec, req, removed)
	})
	if err != nil {
		return err
	}
	s.deleteRecordFiles(ctx, removed)
	s.app.AfterCommit(ctx, func(ctx context.Context) {
		s.app.onRecordDeleteCommitted.Trigger(&RecordEvent{App: s.app, Context: ctx, Record: deleted, Request: req}, nil)
	})
	return nil
}

func (s *RecordService) delete(ctx context.Context, rec *Record, req *RequestInfo, seen map[string]bool) error {
	key := rec.collection.ID + "/" + rec.ID()
	if _, ok := seen[key]; ok {
		return nil
	}
	seen[key] = false // visited; true once the row is deleted
	e := &RecordEvent{App: s.app, Context: ctx, Record: rec, Request: req}
	return s.app.onRecordDelete.Trigger(e, func(e *RecordEvent) error {
		if err := s.unlinkReferences(ctx, e.Record, req, seen); err != nil {
			return err
		}
		if err := s.app.DB(ctx).Exec("DELETE FROM "+quote(e.Record.collection.Name)+` WHERE "id" = ?`, e.Record.ID()).Error; err != nil {
			return err
		}
		seen[key] = true
		return nil
	})
}

// unlinkReferences deals with every relation field that points at rec.
func (s *RecordService) unlinkReferences(ctx context.Context, rec *Record, req *RequestInfo, seen map[string]bool) error {
	for _, other := range s.app.collections.All() {
		if other.IsView() {
			continue
		}
		for _, f := range other.Fields {
			if !f.RelatesTo(rec.collection.ID) {
				continue
			}
			refs, err := s.referencing(ctx, other, f, rec.ID())
			if err != nil {
				return err
			}
			for _, ref := range refs {
				if f.Options.CascadeDelete {
					if err := s.delete(ctx, ref, req, seen); err != nil {
						return err
					}
					continue
				}
				ids := slices.DeleteFunc(valuesOf(ref.data[f.Name]), func(v string) bool { return v == rec.ID() })
				if f.Required && len(ids) == 0 {
					return Errorf(CodeInvalid, "The record cannot be deleted because it is part of a required reference in record %s of collection %q.", ref.ID(), other.Name)
				}
				ref = ref.clone()
				ref.Set(f.Name, ids)
				if err := s.update(ctx, ref); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// referencing returns the records of c whose relation f holds id.
func (s *RecordService) referencing(ctx context.Context, c *Collection, f *Field, id string) ([]*Record, error) {
	col := quote(c.Name) + "." + quote(f.Name)
	if !f.IsMultiple() {
		return s.query(ctx, c, col+" = ?", []any{id}, "")
	}
	from, value := s.app.dialect.JSONEach(col, `"__je"`)
	return s.query(ctx, c, "EXISTS (SELECT 1 FROM "+from+" WHERE "+value+" = ?)", []any{id}, "")
}
