package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
)

func quote(name string) string { return dialect.QuoteIdent(name) }

// createTable creates c's table and indexes.
func (s *CollectionService) createTable(ctx context.Context, c *Collection) error {
	if c.IsView() {
		return s.createView(ctx, c)
	}
	cols := make([]string, 0, len(c.Fields))
	for _, f := range c.Fields {
		cols = append(cols, quote(f.Name)+" "+f.ColumnType(s.app.dialect))
	}
	db := s.app.DB(ctx)
	if err := db.Exec(fmt.Sprintf("CREATE TABLE %s (%s)", quote(c.Name), strings.Join(cols, ", "))).Error; err != nil {
		return err
	}
	return s.createIndexes(ctx, c)
}

func (s *CollectionService) createIndexes(ctx context.Context, c *Collection) error {
	for _, sql := range c.Indexes {
		idx, err := ParseIndex(sql)
		if err != nil {
			return err // validated before; unreachable unless bypassed
		}
		if err := s.app.DB(ctx).Exec(idx.SQL(s.app.dialect, c.Name)).Error; err != nil {
			return err
		}
	}
	return nil
}

func (s *CollectionService) dropIndexes(ctx context.Context, c *Collection) error {
	for _, sql := range c.Indexes {
		idx, err := ParseIndex(sql)
		if err != nil {
			continue
		}
		if err := s.app.DB(ctx).Exec("DROP INDEX IF EXISTS " + quote(idx.Name)).Error; err != nil {
			return err
		}
	}
	return nil
}

// alterTable changes old's table into c's: indexes are dropped first and
// rebuilt last, so that columns they cover can be renamed or dropped in
// between. Fields are matched by id, so a renamed field keeps its values.
func (s *CollectionService) alterTable(ctx context.Context, old, c *Collection) error {
	db := s.app.DB(ctx)
	if c.IsView() {
		if err := db.Exec("DROP VIEW IF EXISTS " + quote(old.Name)).Error; err != nil {
			return err
		}
		return s.createView(ctx, c)
	}
	exec := func(sql string) error { return db.Exec(sql).Error }

	if err := s.dropIndexes(ctx, old); err != nil {
		return err
	}
	if old.Name != c.Name {
		if err := exec(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quote(old.Name), quote(c.Name))); err != nil {
			return err
		}
	}
	table := quote(c.Name)

	for _, of := range old.Fields {
		if fieldByID(c.Fields, of.ID) == nil {
			if err := exec(fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s", table, quote(of.Name))); err != nil {
				return err
			}
		}
	}
	for _, f := range c.Fields {
		of := fieldByID(old.Fields, f.ID)
		if of == nil {
			if err := exec(fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", table, quote(f.Name), f.ColumnType(s.app.dialect))); err != nil {
				return err
			}
			continue
		}
		if of.Name != f.Name {
			// Through a temporary name, so that two fields may swap names.
			tmp := "_hg_tmp_" + f.ID
			if err := exec(fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", table, quote(of.Name), quote(tmp))); err != nil {
				return err
			}
		}
	}
	for _, f := range c.Fields {
		of := fieldByID(old.Fields, f.ID)
		if of == nil {
			continue
		}
		if of.Name != f.Name {
			if err := exec(fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", table, quote("_hg_tmp_"+f.ID), quote(f.Name))); err != nil {
				return err
			}
		}
		if err := s.convertColumn(ctx, table, of, f); err != nil {
			return err
		}
	}
	return s.createIndexes(ctx, c)
}

// convertColumn rewrites a column's values when a field switches between
// holding one value and several.
func (s *CollectionService) convertColumn(ctx context.Context, table string, of, f *Field) error {
	d := s.app.dialect
	var expr string
	switch {
	case !of.IsMultiple() && f.IsMultiple():
		expr = d.JSONArrayOf(f.Name)
	case of.IsMultiple() && !f.IsMultiple():
		expr = d.JSONArrayLast(f.Name)
	default:
		return nil
	}
	return s.app.DB(ctx).Exec(fmt.Sprintf("UPDATE %s SET %s = %s", table, quote(f.Name), expr)).Error
}
