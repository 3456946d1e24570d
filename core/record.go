package core

import (
	"encoding/json"
	"maps"
)

// Record is one record of a collection. Values are kept normalized per
// field type (see normalize).
type Record struct {
	collection *Collection
	data       map[string]any
	// original holds the stored values of a loaded record; nil for a new one.
	original map[string]any
	// inputErrs are problems found in the submitted values (see inputError).
	inputErrs map[string]FieldError
	// Expand holds expanded relations by key (the relation field's name or
	// <collection>_via_<field>): a *Record or a []*Record each. Nil means
	// no expand was asked for; empty exports as "expand": {}.
	Expand map[string]any
}

// NewRecord returns a new, unsaved record of c with zero values.
func NewRecord(c *Collection) *Record {
	r := &Record{collection: c, data: make(map[string]any, len(c.Fields))}
	for _, f := range c.Fields {
		r.data[f.Name] = zeroValue(f)
	}
	return r
}

// Collection returns the record's collection.
func (r *Record) Collection() *Collection { return r.collection }

// ID returns the record id.
func (r *Record) ID() string { s, _ := r.data["id"].(string); return s }

// IsNew reports whether the record has not been stored yet.
func (r *Record) IsNew() bool { return r.original == nil }

// Get returns a field's value.
func (r *Record) Get(name string) any {
	if f := r.collection.Field(name); f != nil {
		return r.data[f.Name]
	}
	return nil
}

// GetString returns a field's value as a string.
func (r *Record) GetString(name string) string { return toString(r.Get(name)) }

// Set sets a field's value, converting it to the field's type. Unknown
// names are ignored.
func (r *Record) Set(name string, v any) {
	if f := r.collection.Field(name); f != nil {
		r.data[f.Name] = normalize(f, v)
	}
}

// Original returns the stored value of a field, before changes.
func (r *Record) Original(name string) any {
	if r.original == nil {
		return nil
	}
	return r.original[name]
}

// ExportOptions control which fields PublicExport includes.
type ExportOptions struct {
	// ShowHidden includes hidden fields (for superusers).
	ShowHidden bool
	// ShowEmail includes the email of auth records even when
	// emailVisibility is off (owners, superusers, auth responses).
	ShowEmail bool
}

// PublicExport returns the record as clients see it: its visible fields
// plus collectionId, collectionName and, when set, expand, whose records
// are exported with the same options. Passwords and token keys never
// leave.
func (r *Record) PublicExport(opts ExportOptions) map[string]any {
	return r.publicExport(func(*Record) ExportOptions { return opts })
}

// publicExport exports r with the options optsFor gives it, and each
// expanded record with its own.
func (r *Record) publicExport(optsFor func(*Record) ExportOptions) map[string]any {
	opts := optsFor(r)
	out := make(map[string]any, len(r.data)+3)
	for _, f := range r.collection.Fields {
		if f.IsSecret() || (r.collection.IsAuth() && f.Name == "tokenKey") {
			continue
		}
		if f.Hidden && !opts.ShowHidden {
			continue
		}
		out[f.Name] = f.Kind().ExportValue(f, r.data[f.Name])
	}
	if r.collection.IsAuth() && !opts.ShowEmail && !toBool(r.data["emailVisibility"]) {
		delete(out, "email") // omitted, not blanked, as in PocketBase
	}
	out["collectionId"] = r.collection.ID
	out["collectionName"] = r.collection.Name
	if r.Expand != nil {
		// Present, even empty, once an expand was asked for, as in PocketBase.
		out["expand"] = exportExpand(r.Expand, optsFor)
	}
	return out
}

// MarshalJSON exports the record with default (guest) visibility.
func (r *Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.PublicExport(ExportOptions{}))
}

// clone returns a copy whose changes do not touch r.
func (r *Record) clone() *Record {
	c := *r
	c.data = maps.Clone(r.data)
	if r.original != nil {
		c.original = maps.Clone(r.original)
	}
	return &c
}
