package core

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ganigeorgiev/fexpr"
)

var (
	collectionNamePattern = regexp.MustCompile(`^\w+$`)
	thumbPattern          = regexp.MustCompile(`^\d+x\d+[tbf]?$`)
)

const maxNameLength = 100

// validateCollection checks c (and, for an update, what changed since old)
// and fills in what PocketBase fills in: field ids, system fields, default
// maxSelect. It returns a validation Error with every problem found.
func (s *CollectionService) validateCollection(c, old *Collection) error {
	errs := map[string]FieldError{}
	fail := func(key, code, msg string) {
		if _, ok := errs[key]; !ok {
			errs[key] = FieldError{Code: code, Message: msg}
		}
	}

	switch {
	case c.Name == "":
		fail("name", "validation_required", "Cannot be blank.")
	case len(c.Name) > maxNameLength:
		fail("name", "validation_length_too_long", fmt.Sprintf("The length must be no more than %d.", maxNameLength))
	case !collectionNamePattern.MatchString(c.Name):
		fail("name", "validation_invalid_name", "Only letters, digits and underscores are allowed.")
	case strings.HasPrefix(c.Name, "_") && !c.System:
		fail("name", "validation_invalid_name", "Names starting with an underscore are reserved for system collections.")
	default:
		if other, err := s.Find(c.Name); err == nil && (old == nil || other.ID != old.ID) {
			fail("name", "validation_collection_name_exists", "Collection name must be unique (case insensitive).")
		}
	}

	if !slices.Contains([]string{CollectionBase, CollectionAuth, CollectionView}, c.Type) {
		fail("type", "validation_in_invalid", "Must be a valid value.")
	}
	if old != nil {
		if c.Type != old.Type {
			fail("type", "validation_collection_type_change", "Collection type cannot be changed.")
		}
		if old.System && (c.Name != old.Name) {
			fail("name", "validation_system_collection", "System collections cannot be renamed.")
		}
	}

	if c.IsView() {
		// Fields are inferred from the query when the view is created.
		validateView(c, fail)
	} else {
		s.normalizeFields(c, old)
		s.validateFields(c, old, fail)
	}
	for _, r := range []struct {
		key  string
		rule *string
	}{
		{"listRule", c.ListRule}, {"viewRule", c.ViewRule}, {"createRule", c.CreateRule},
		{"updateRule", c.UpdateRule}, {"deleteRule", c.DeleteRule},
	} {
		if r.rule != nil && strings.TrimSpace(*r.rule) != "" {
			if _, err := fexpr.Parse(*r.rule); err != nil {
				fail(r.key, "validation_invalid_rule", "Invalid rule: "+err.Error()+".")
			}
		}
	}
	validateIndexes(c, fail)
	if c.IsAuth() && c.Auth != nil {
		validateAuthOptions(c, fail)
	}

	if len(errs) > 0 {
		return Invalid("An error occurred while validating the submitted data.", errs)
	}
	return nil
}

// normalizeFields gives fields their ids (reusing an existing field's id
// when only its name is sent), puts back missing system fields and applies
// option defaults.
func (s *CollectionService) normalizeFields(c, old *Collection) {
	var oldFields []*Field
	if old != nil {
		oldFields = old.Fields
	}
	s.app.bindFields(c.Fields)
	for _, f := range c.Fields {
		if f == nil {
			continue
		}
		f.Name = strings.TrimSpace(f.Name)
		if f.ID == "" {
			// A field sent by name alone is the existing field of that name,
			// so that changing its type is refused rather than replacing
			// the column and its values.
			if prev := fieldByName(oldFields, f.Name); prev != nil {
				f.ID = prev.ID
			} else {
				f.ID = uniqueFieldID(c.Fields, DefaultFieldID(f.Type, f.Name))
			}
		}
		f.Kind().PrepareOptions(s.app, f)
	}
	c.Fields = slices.DeleteFunc(c.Fields, func(f *Field) bool { return f == nil })

	// System fields cannot be dropped: put back any that are missing.
	required := systemFields(c.Type)
	if old != nil {
		required = required[:0]
		for _, f := range old.Fields {
			if f.System {
				required = append(required, f)
			}
		}
	}
	var missing []*Field
	for _, sf := range required {
		if fieldByID(c.Fields, sf.ID) == nil && fieldByName(c.Fields, sf.Name) == nil {
			cp := *sf
			missing = append(missing, &cp)
		}
	}
	c.Fields = append(missing, c.Fields...)
}

func uniqueFieldID(fields []*Field, id string) string {
	candidate := id
	for i := 2; fieldByID(fields, candidate) != nil; i++ {
		candidate = fmt.Sprintf("%s%d", id, i)
	}
	return candidate
}

func (s *CollectionService) validateFields(c, old *Collection, fail func(key, code, msg string)) {
	seen := map[string]bool{}
	primary := 0
	for i, f := range c.Fields {
		key := fmt.Sprintf("fields.%d", i)
		lower := strings.ToLower(f.Name)
		switch {
		case f.Name == "":
			fail(key+".name", "validation_required", "Cannot be blank.")
		case !fieldNamePattern.MatchString(f.Name) || len(f.Name) > maxNameLength:
			fail(key+".name", "validation_invalid_name", "Only letters, digits and underscores are allowed.")
		case slices.ContainsFunc(reservedFieldNames, func(r string) bool { return strings.EqualFold(r, f.Name) }):
			fail(key+".name", "validation_reserved_name", "The name is reserved.")
		case seen[lower]:
			fail(key+".name", "validation_duplicated_name", "Field names must be unique (case insensitive).")
		}
		seen[lower] = true
		if _, ok := s.app.FieldKind(f.Type); !ok {
			fail(key+".type", "validation_in_invalid", "Must be a valid field type.")
			continue
		}
		if f.IsPrimaryKey() {
			primary++
			if f.Name != "id" {
				fail(key+".name", "validation_invalid_primary_key", "The primary key field must be named id.")
			}
		}
		if old != nil {
			if prev := fieldByID(old.Fields, f.ID); prev != nil {
				if prev.Type != f.Type {
					fail(key+".type", "validation_field_type_change", "Field type cannot be changed.")
				}
				if prev.System && (prev.Name != f.Name) {
					fail(key+".name", "validation_system_field", "System fields cannot be renamed.")
				}
			}
		}
		validateFieldOptions(s, c, f, key, fail)
	}
	if primary != 1 {
		fail("fields", "validation_missing_primary_key", "The collection must have exactly one primary key field named id.")
	}
}

// validateFieldOptions asks f's kind, then checks what every field's
// options share. The kind goes first: the first error of a key is the one
// reported, and a negative max is reported as such before min > max.
func validateFieldOptions(s *CollectionService, c *Collection, f *Field, key string, fail func(key, code, msg string)) {
	f.Kind().ValidateOptions(s.app, c, f, key, fail)
	o := f.Options
	if o.Min != nil && o.Max != nil && *o.Max != 0 && *o.Min > *o.Max {
		fail(key+".max", "validation_min_greater_max", "Must be greater than or equal to min.")
	}
	if o.Pattern != "" {
		if _, err := regexp.Compile(o.Pattern); err != nil {
			fail(key+".pattern", "validation_invalid_regex", "Invalid regular expression.")
		}
	}
	if o.MaxSize < 0 {
		fail(key+".maxSize", "validation_min_greater_equal_than_required", "Must be no less than 0.")
	}
}

func validateIndexes(c *Collection, fail func(key, code, msg string)) {
	names := map[string]bool{}
	for i, sql := range c.Indexes {
		key := fmt.Sprintf("indexes.%d", i)
		idx, err := ParseIndex(sql)
		if err != nil {
			fail(key, "validation_invalid_index_expression", "Invalid CREATE INDEX expression: "+err.Error()+".")
			continue
		}
		c.Indexes[i] = idx.String(c.Name) // stored normalised, naming the current table
		lower := strings.ToLower(idx.Name)
		if names[lower] {
			fail(key, "validation_duplicated_index_name", "Index names must be unique.")
		}
		names[lower] = true
		for _, col := range idx.Columns {
			if c.Field(col.Name) == nil {
				fail(key, "validation_invalid_index_column", fmt.Sprintf("Index column %q is not a field of the collection.", col.Name))
			}
		}
	}
}
