package core

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
)

// Field is one field of a collection: its settings as JSON (PocketBase's
// shape, "type" included) plus what the schema and validation need.
type Field struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	System      bool   `json:"system"`
	Hidden      bool   `json:"hidden"`
	Presentable bool   `json:"presentable"`
	Required    bool   `json:"required"`

	// Type-specific options. Which apply depends on Type; the others are
	// left zero and omitted from the JSON.
	Options FieldOptions `json:"-"`

	kind FieldKind       // bound by the App (bindFields); see Kind
	raw  json.RawMessage // the JSON of a type no built-in kind reads, for the kind bound later
}

// FieldOptions are the type-specific settings of a field, PocketBase's names.
type FieldOptions struct {
	Min                 *float64 `json:"min,omitempty"`
	Max                 *float64 `json:"max,omitempty"`
	Pattern             string   `json:"pattern,omitempty"`
	AutogeneratePattern string   `json:"autogeneratePattern,omitempty"`
	PrimaryKey          bool     `json:"primaryKey,omitempty"`
	OnlyInt             bool     `json:"onlyInt,omitempty"`
	ExceptDomains       []string `json:"exceptDomains,omitempty"`
	OnlyDomains         []string `json:"onlyDomains,omitempty"`
	ConvertURLs         bool     `json:"convertURLs,omitempty"`
	MinDate             string   `json:"-"` // date fields keep min/max as strings
	MaxDate             string   `json:"-"`
	OnCreate            bool     `json:"onCreate,omitempty"`
	OnUpdate            bool     `json:"onUpdate,omitempty"`
	Values              []string `json:"values,omitempty"`
	MaxSelect           int      `json:"maxSelect,omitempty"`
	MinSelect           int      `json:"minSelect,omitempty"`
	MaxSize             int64    `json:"maxSize,omitempty"`
	MimeTypes           []string `json:"mimeTypes,omitempty"`
	Thumbs              []string `json:"thumbs,omitempty"`
	Protected           bool     `json:"protected,omitempty"`
	CollectionID        string   `json:"collectionId,omitempty"`
	CascadeDelete       bool     `json:"cascadeDelete,omitempty"`
	Cost                int      `json:"cost,omitempty"`
}

// IsMultiple reports whether the field holds a list of values, stored as a
// JSON array.
func (f *Field) IsMultiple() bool { return f.Kind().Multiple(f) }

// ColumnType is the field's column definition on d.
func (f *Field) ColumnType(d dialect.Dialect) string {
	if f.IsMultiple() {
		// A JSON array kept as text on both dialects, so that switching a
		// field between one and many values converts rows in place.
		return "TEXT DEFAULT '[]' NOT NULL"
	}
	return f.Kind().ColumnType(f, d)
}

// MarshalJSON writes the field in PocketBase's shape: the common keys and
// exactly the option keys of its type.
func (f Field) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"id": f.ID, "name": f.Name, "type": f.Type, "system": f.System,
		"hidden": f.Hidden, "presentable": f.Presentable, "required": f.Required,
	}
	f.Kind().MarshalOptions(&f, m)
	return json.Marshal(m)
}

// UnmarshalJSON reads a field in PocketBase's shape. Unknown keys are
// ignored; the options are read by the kind of the type (a date field's
// min and max are strings, every other min/max a number).
func (f *Field) UnmarshalJSON(b []byte) error {
	type common struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Type        string `json:"type"`
		System      bool   `json:"system"`
		Hidden      bool   `json:"hidden"`
		Presentable bool   `json:"presentable"`
		Required    bool   `json:"required"`
	}
	var c common
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	*f = Field{ID: c.ID, Name: c.Name, Type: c.Type, System: c.System, Hidden: c.Hidden, Presentable: c.Presentable, Required: c.Required}
	if builtinFieldKind(c.Type) == nil {
		f.raw = keepRaw(b) // an App's own kind reads it when bound
	}
	if err := f.Kind().UnmarshalOptions(b, &f.Options); err != nil {
		return fmt.Errorf("field %q: %w", c.Name, err)
	}
	return nil
}

// DefaultFieldID returns PocketBase's id for a new field: its type followed
// by the CRC-32 of its name.
func DefaultFieldID(typ, name string) string {
	return fmt.Sprintf("%s%d", typ, crc32.ChecksumIEEE([]byte(name)))
}

var fieldNamePattern = regexp.MustCompile(`^\w+$`)

// reservedFieldNames cannot be used by fields: they clash with record JSON
// keys or filter macros.
var reservedFieldNames = []string{"expand", "collectionId", "collectionName"}

func numberOrZero(p *float64) any {
	if p == nil {
		return 0
	}
	return *p
}

func nilIfEmpty(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Float returns a pointer to v, for field options.
func Float(v float64) *float64 { return &v }

// fieldByName finds a field by name, case-insensitively as SQL does.
func fieldByName(fields []*Field, name string) *Field {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

func fieldByID(fields []*Field, id string) *Field {
	i := slices.IndexFunc(fields, func(f *Field) bool { return f.ID == id })
	if i < 0 {
		return nil
	}
	return fields[i]
}
