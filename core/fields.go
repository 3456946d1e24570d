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

// Field types, PocketBase's.
const (
	FieldText     = "text"
	FieldNumber   = "number"
	FieldBool     = "bool"
	FieldEmail    = "email"
	FieldURL      = "url"
	FieldEditor   = "editor"
	FieldDate     = "date"
	FieldAutodate = "autodate"
	FieldSelect   = "select"
	FieldJSON     = "json"
	FieldFile     = "file"
	FieldRelation = "relation"
	FieldPassword = "password"
	FieldGeoPoint = "geoPoint"
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

// fieldKeys lists, per type, the option keys PocketBase sends for it, so
// that the JSON of a field has exactly those (zero values included).
var fieldKeys = map[string][]string{
	FieldText:     {"min", "max", "pattern", "autogeneratePattern", "primaryKey"},
	FieldNumber:   {"min", "max", "onlyInt"},
	FieldBool:     {},
	FieldEmail:    {"exceptDomains", "onlyDomains"},
	FieldURL:      {"exceptDomains", "onlyDomains"},
	FieldEditor:   {"maxSize", "convertURLs"},
	FieldDate:     {"min", "max"},
	FieldAutodate: {"onCreate", "onUpdate"},
	FieldSelect:   {"values", "maxSelect"},
	FieldJSON:     {"maxSize"},
	FieldFile:     {"maxSelect", "maxSize", "mimeTypes", "thumbs", "protected"},
	FieldRelation: {"collectionId", "cascadeDelete", "minSelect", "maxSelect"},
	FieldPassword: {"min", "max", "pattern", "cost"},
	FieldGeoPoint: {},
}

// IsMultiple reports whether the field holds a list of values, stored as a
// JSON array.
func (f *Field) IsMultiple() bool {
	switch f.Type {
	case FieldSelect, FieldFile, FieldRelation:
		return f.Options.MaxSelect > 1
	}
	return false
}

// ColumnType is the field's column definition on d.
func (f *Field) ColumnType(d dialect.Dialect) string {
	switch {
	case f.Type == FieldText && f.Options.PrimaryKey:
		return "TEXT PRIMARY KEY NOT NULL"
	case f.IsMultiple():
		// A JSON array kept as text on both dialects, so that switching a
		// field between one and many values converts rows in place.
		return "TEXT DEFAULT '[]' NOT NULL"
	}
	switch f.Type {
	case FieldNumber:
		return d.ColumnType(dialect.Number)
	case FieldBool:
		return d.ColumnType(dialect.Bool)
	case FieldJSON:
		return d.ColumnType(dialect.JSON)
	case FieldGeoPoint:
		return `TEXT DEFAULT '{"lon":0,"lat":0}' NOT NULL`
	}
	return d.ColumnType(dialect.Text)
}

// MarshalJSON writes the field in PocketBase's shape: the common keys and
// exactly the option keys of its type.
func (f Field) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"id": f.ID, "name": f.Name, "type": f.Type, "system": f.System,
		"hidden": f.Hidden, "presentable": f.Presentable,
	}
	if f.Type != FieldAutodate {
		m["required"] = f.Required
	}
	o := f.Options
	for _, key := range fieldKeys[f.Type] {
		switch key {
		case "min":
			if f.Type == FieldDate {
				m[key] = o.MinDate
			} else {
				m[key] = numberOrZero(o.Min)
			}
		case "max":
			if f.Type == FieldDate {
				m[key] = o.MaxDate
			} else {
				m[key] = numberOrZero(o.Max)
			}
		case "pattern":
			m[key] = o.Pattern
		case "autogeneratePattern":
			m[key] = o.AutogeneratePattern
		case "primaryKey":
			m[key] = o.PrimaryKey
		case "onlyInt":
			m[key] = o.OnlyInt
		case "exceptDomains":
			m[key] = nilIfEmpty(o.ExceptDomains)
		case "onlyDomains":
			m[key] = nilIfEmpty(o.OnlyDomains)
		case "convertURLs":
			m[key] = o.ConvertURLs
		case "onCreate":
			m[key] = o.OnCreate
		case "onUpdate":
			m[key] = o.OnUpdate
		case "values":
			m[key] = emptyIfNil(o.Values)
		case "maxSelect":
			m[key] = o.MaxSelect
		case "minSelect":
			m[key] = o.MinSelect
		case "maxSize":
			m[key] = o.MaxSize
		case "mimeTypes":
			m[key] = emptyIfNil(o.MimeTypes)
		case "thumbs":
			m[key] = emptyIfNil(o.Thumbs)
		case "protected":
			m[key] = o.Protected
		case "collectionId":
			m[key] = o.CollectionID
		case "cascadeDelete":
			m[key] = o.CascadeDelete
		case "cost":
			m[key] = o.Cost
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads a field in PocketBase's shape. Unknown keys are
// ignored; a date field's min and max are strings, every other min/max a
// number.
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

	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if f.Type == FieldDate {
		_ = json.Unmarshal(raw["min"], &f.Options.MinDate)
		_ = json.Unmarshal(raw["max"], &f.Options.MaxDate)
		delete(raw, "min")
		delete(raw, "max")
		b, _ = json.Marshal(raw)
	}
	var o FieldOptions
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("field %q: %w", c.Name, err)
	}
	o.MinDate, o.MaxDate = f.Options.MinDate, f.Options.MaxDate
	f.Options = o
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
