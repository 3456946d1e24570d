package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// collectionRow is a row of _collections.
type collectionRow struct {
	ID         string  `gorm:"column:id;primaryKey"`
	System     bool    `gorm:"column:system"`
	Type       string  `gorm:"column:type"`
	Name       string  `gorm:"column:name"`
	Fields     JSONRaw `gorm:"column:fields"`
	Indexes    JSONRaw `gorm:"column:indexes"`
	ListRule   *string `gorm:"column:listRule"`
	ViewRule   *string `gorm:"column:viewRule"`
	CreateRule *string `gorm:"column:createRule"`
	UpdateRule *string `gorm:"column:updateRule"`
	DeleteRule *string `gorm:"column:deleteRule"`
	Options    JSONRaw `gorm:"column:options"`
	Created    string  `gorm:"column:created"`
	Updated    string  `gorm:"column:updated"`
}

func (collectionRow) TableName() string { return "_collections" }

func (r *collectionRow) toCollection() (*Collection, error) {
	c := &Collection{
		ID: r.ID, System: r.System, Type: r.Type, Name: r.Name,
		ListRule: r.ListRule, ViewRule: r.ViewRule, CreateRule: r.CreateRule,
		UpdateRule: r.UpdateRule, DeleteRule: r.DeleteRule, Created: r.Created, Updated: r.Updated,
	}
	if err := json.Unmarshal(r.Fields, &c.Fields); err != nil {
		return nil, fmt.Errorf("collection %s fields: %w", r.Name, err)
	}
	if len(r.Indexes) > 0 {
		if err := json.Unmarshal(r.Indexes, &c.Indexes); err != nil {
			return nil, fmt.Errorf("collection %s indexes: %w", r.Name, err)
		}
		// In the form a save stores (validate normalises them): the system
		// migrations wrote theirs quoted otherwise, which made every later
		// save of a system collection look like an index change.
		for i, sql := range c.Indexes {
			if idx, err := ParseIndex(sql); err == nil {
				c.Indexes[i] = idx.String(c.Name)
			}
		}
	}
	switch c.Type {
	case CollectionAuth:
		c.Auth = &AuthOptions{}
		if err := json.Unmarshal(r.Options, c.Auth); err != nil {
			return nil, fmt.Errorf("collection %s options: %w", r.Name, err)
		}
	case CollectionView:
		var v viewOptions
		_ = json.Unmarshal(r.Options, &v)
		c.ViewQuery, c.ViewRestricted = v.ViewQuery, v.Restricted
	}
	return c, nil
}

func rowOf(c *Collection) (*collectionRow, error) {
	fields, err := json.Marshal(c.Fields)
	if err != nil {
		return nil, err
	}
	indexes, err := json.Marshal(emptyIfNil(c.Indexes))
	if err != nil {
		return nil, err
	}
	var options any = struct{}{}
	switch {
	case c.Auth != nil:
		options = c.Auth
	case c.IsView():
		options = viewOptions{ViewQuery: c.ViewQuery, Restricted: c.ViewRestricted}
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	return &collectionRow{
		ID: c.ID, System: c.System, Type: c.Type, Name: c.Name, Fields: fields, Indexes: indexes,
		ListRule: c.ListRule, ViewRule: c.ViewRule, CreateRule: c.CreateRule, UpdateRule: c.UpdateRule,
		DeleteRule: c.DeleteRule, Options: opts, Created: c.Created, Updated: c.Updated,
	}, nil
}

// viewOptions are the stored options of a view collection.
type viewOptions struct {
	ViewQuery  string `json:"viewQuery"`
	Restricted bool   `json:"viewRestricted,omitempty"`
}

// CollectionService manages collection definitions and their tables. It
// keeps every collection in memory: lookups never touch the database.
// Cached collections are never modified; a change replaces them.
type CollectionService struct {
	app    *App
	mu     sync.RWMutex
	byID   map[string]*Collection
	byName map[string]*Collection // lowercased name
}

func newCollectionService(app *App) *CollectionService {
	return &CollectionService{app: app, byID: map[string]*Collection{}, byName: map[string]*Collection{}}
}

// Reload reads every collection from the database into the cache.
func (s *CollectionService) Reload(ctx context.Context) error {
	var rows []collectionRow
	if err := s.app.ReadDB(ctx).Order(`"created", "id"`).Find(&rows).Error; err != nil {
		return err
	}
	byID := make(map[string]*Collection, len(rows))
	byName := make(map[string]*Collection, len(rows))
	for i := range rows {
		c, err := rows[i].toCollection()
		if err != nil {
			return err
		}
		s.app.bindFields(c.Fields)
		byID[c.ID] = c
		byName[strings.ToLower(c.Name)] = c
	}
	s.mu.Lock()
	s.byID, s.byName = byID, byName
	s.mu.Unlock()
	return nil
}

// Find returns the collection with the given id or name (case-insensitive).
func (s *CollectionService) Find(idOrName string) (*Collection, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.byID[idOrName]; ok {
		return c, nil
	}
	if c, ok := s.byName[strings.ToLower(idOrName)]; ok {
		return c, nil
	}
	return nil, &Error{Code: CodeNotFound, Message: "The requested resource wasn't found."}
}

// All returns every collection, oldest first.
func (s *CollectionService) All() []*Collection {
	s.mu.RLock()
	out := make([]*Collection, 0, len(s.byID))
	for _, c := range s.byID {
		out = append(out, c)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Collection) int {
		if c := strings.Compare(a.Created, b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func (s *CollectionService) idTaken(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.byID[id]
	return ok
}

// Create validates in as a new collection, creates its table and indexes
// and records it, all in one transaction.
func (s *CollectionService) Create(ctx context.Context, in *CollectionInput) (*Collection, error) {
	c := &Collection{Type: CollectionBase}
	if in.Type != nil {
		c.Type = *in.Type
	}
	if c.Type == CollectionAuth {
		c.Auth = newAuthOptions()
	}
	in.apply(c)
	c.ViewRestricted = c.IsView() && delegatedAdmin(ctx)
	if err := s.app.prepareOAuth2(c); err != nil {
		return nil, err
	}
	if in.ID != nil && *in.ID != "" {
		c.ID = *in.ID
		if !collectionNamePattern.MatchString(c.ID) || len(c.ID) > maxNameLength {
			return nil, Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
				"id": {Code: "validation_invalid_id", Message: "Only letters, digits and underscores are allowed."},
			})
		}
		if _, err := s.Find(c.ID); err == nil {
			return nil, Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
				"id": {Code: "validation_collection_id_exists", Message: "Collection id must be unique."},
			})
		}
	} else {
		base := DefaultCollectionID(c.Type, c.Name)
		c.ID = base
		for i := 2; s.idTaken(c.ID); i++ {
			c.ID = fmt.Sprintf("%s%d", base, i)
		}
	}
	if c.IsAuth() {
		c.Indexes = withAuthIndexes(c)
	}
	if err := s.validateCollection(c, nil); err != nil {
		return nil, err
	}
	now := FormatTime(s.app.Now())
	c.Created, c.Updated = now, now

	err := s.app.InTx(ctx, func(ctx context.Context) error {
		e := &CollectionEvent{App: s.app, Context: ctx, Collection: c}
		return s.app.onCollectionCreate.Trigger(e, func(e *CollectionEvent) error {
			if err := s.createTable(ctx, e.Collection); err != nil {
				return err
			}
			row, err := rowOf(e.Collection)
			if err != nil {
				return err
			}
			if err := s.app.DB(ctx).Create(row).Error; err != nil {
				return err
			}
			return s.recheckViews(ctx, e.Collection, "")
		})
	})
	if err != nil {
		return nil, s.schemaError(err)
	}
	return c, s.Reload(context.WithoutCancel(ctx))
}

// Update applies in to the collection idOrName: its definition, and the
// table changes that follow (columns added, renamed, removed or converted,
// indexes rebuilt, table renamed), in one transaction that keeps every
// existing value.
func (s *CollectionService) Update(ctx context.Context, idOrName string, in *CollectionInput) (*Collection, error) {
	cached, err := s.Find(idOrName)
	if err != nil {
		return nil, err
	}
	var updated *Collection
	err = s.app.InTx(ctx, func(ctx context.Context) error {
		// The definition as stored, locked for this transaction: another
		// instance or request may have changed it since it was cached.
		old, err := s.lockedLoad(ctx, cached.ID)
		if err != nil {
			return err
		}
		if old.System && delegatedAdmin(ctx) {
			// Their rules, fields, auth options and token secrets guard
			// the superusers' and staff's credentials.
			return errSuperusersOnly("change system collections")
		}
		c := old.clone()
		if in.Type != nil && *in.Type != old.Type {
			return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
				"type": {Code: "validation_collection_type_change", Message: "Collection type cannot be changed."},
			})
		}
		in.apply(c)
		if err := s.app.prepareOAuth2(c); err != nil {
			return err
		}
		if old.System && !(sameFields(old.Fields, c.Fields) && slices.Equal(old.Indexes, c.Indexes)) {
			return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
				"fields": {Code: "validation_system_collection", Message: "The fields and indexes of system collections cannot be changed."},
			})
		}
		if err := s.validateCollection(c, old); err != nil {
			return err
		}
		if c.IsView() && c.ViewQuery != old.ViewQuery {
			c.ViewRestricted = delegatedAdmin(ctx)
		}
		c.Updated = FormatTime(s.app.Now())

		e := &CollectionEvent{App: s.app, Context: ctx, Collection: c, Old: old}
		return s.app.onCollectionUpdate.Trigger(e, func(e *CollectionEvent) error {
			if err := s.alterTable(ctx, old, e.Collection); err != nil {
				return err
			}
			row, err := rowOf(e.Collection)
			if err != nil {
				return err
			}
			updated = e.Collection
			if err := s.app.DB(ctx).Select("*").Save(row).Error; err != nil {
				return err
			}
			return s.recheckViews(ctx, e.Collection, "")
		})
	})
	if err != nil {
		return nil, s.schemaError(err)
	}
	return updated, s.Reload(context.WithoutCancel(ctx))
}

// lockedLoad reads one collection inside the current transaction, locking
// its row until the transaction ends.
func (s *CollectionService) lockedLoad(ctx context.Context, id string) (*Collection, error) {
	var row collectionRow
	err := s.app.DB(ctx).Raw(`SELECT * FROM "_collections" WHERE "id" = ?`+s.app.dialect.ForUpdate(), id).Scan(&row).Error
	if err != nil {
		return nil, err
	}
	if row.ID == "" {
		return nil, &Error{Code: CodeNotFound, Message: "The requested resource wasn't found."}
	}
	c, err := row.toCollection()
	if err != nil {
		return nil, err
	}
	s.app.bindFields(c.Fields)
	return c, nil
}

// Delete drops the collection's table and definition. A collection that
// another collection's relation points to cannot be deleted.
func (s *CollectionService) Delete(ctx context.Context, idOrName string) error {
	c, err := s.Find(idOrName)
	if err != nil {
		return err
	}
	if c.System {
		return Errorf(CodeInvalid, "System collections cannot be deleted.")
	}
	for _, other := range s.All() {
		if other.ID == c.ID {
			continue
		}
		for _, f := range other.Fields {
			if f.RelatesTo(c.ID) {
				return Errorf(CodeInvalid, "Cannot delete collection %q: the relation field %q of %q refers to it.", c.Name, f.Name, other.Name)
			}
		}
	}
	if views := s.viewsUsing(c.Name); len(views) > 0 {
		return Errorf(CodeInvalid, "Cannot delete collection %q: the view collection %q uses it.", c.Name, views[0].Name)
	}
	err = s.app.InTx(ctx, func(ctx context.Context) error {
		e := &CollectionEvent{App: s.app, Context: ctx, Collection: c}
		return s.app.onCollectionDelete.Trigger(e, func(e *CollectionEvent) error {
			drop := "DROP TABLE IF EXISTS "
			if c.IsView() {
				drop = "DROP VIEW IF EXISTS "
			}
			if err := s.app.DB(ctx).Exec(drop + quote(c.Name)).Error; err != nil {
				return err
			}
			if err := s.app.DB(ctx).Where(`"id" = ?`, c.ID).Delete(&collectionRow{}).Error; err != nil {
				return err
			}
			return s.recheckViews(ctx, nil, c.ID)
		})
	})
	if err != nil {
		return s.schemaError(err)
	}
	return s.Reload(context.WithoutCancel(ctx))
}

// Truncate deletes every record of the collection.
func (s *CollectionService) Truncate(ctx context.Context, idOrName string) error {
	c, err := s.Find(idOrName)
	if err != nil {
		return err
	}
	if c.IsView() {
		return Errorf(CodeInvalid, "View collections cannot be truncated.")
	}
	if c.System {
		return Errorf(CodeInvalid, "System collections cannot be truncated.")
	}
	return s.app.DB(ctx).Exec("DELETE FROM " + quote(c.Name)).Error
}

// schemaError turns database errors raised by a schema change (a unique
// index over duplicate values, say) into a 400; the transaction has
// already rolled everything back.
func (s *CollectionService) schemaError(err error) error {
	var ce *Error
	if errors.As(err, &ce) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, gorm.ErrInvalidTransaction) {
		return err
	}
	return &Error{Code: CodeInvalid, Message: "Failed to apply the collection changes to the database: " + dbReason(err), Err: err}
}

// dbReason is the part of a database error message worth showing to a
// superuser who made the change.
func dbReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "ERROR: "); i >= 0 {
		msg = msg[i+len("ERROR: "):]
	}
	return strings.TrimSuffix(msg, ".") + "."
}

func (c *Collection) clone() *Collection {
	cp := *c
	cp.Fields = make([]*Field, len(c.Fields))
	for i, f := range c.Fields {
		fc := *f
		cp.Fields[i] = &fc
	}
	cp.Indexes = slices.Clone(c.Indexes)
	if c.Auth != nil {
		a := *c.Auth
		cp.Auth = &a
	}
	return &cp
}

func sameFields(a, b []*Field) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
