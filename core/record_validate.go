package core

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

const idPatternString = "^[a-z0-9]+$"

// validateRecord checks every field of rec and returns PocketBase's
// field errors.
func (s *RecordService) validateRecord(ctx context.Context, rec *Record) map[string]FieldError {
	errs := map[string]FieldError{}
	for _, f := range rec.collection.Fields {
		if fe, ok := s.validateField(ctx, rec, f); !ok {
			errs[f.Name] = fe
		}
	}
	for field, fe := range rec.inputErrs {
		errs[field] = fe // the submitted value's problem explains it best
	}
	return errs
}

func fe(code, format string, args ...any) (FieldError, bool) {
	return FieldError{Code: code, Message: fmt.Sprintf(format, args...)}, false
}

// validateField checks f's value in rec: required, then what its kind
// checks of a non-empty value.
func (s *RecordService) validateField(ctx context.Context, rec *Record, f *Field) (FieldError, bool) {
	v := rec.data[f.Name]
	empty := isEmptyValue(v)
	kind := f.Kind()
	if f.Required && empty && !kind.Traits().Automatic {
		return fe("validation_required", "Cannot be blank.")
	}
	if empty {
		return FieldError{}, true
	}
	return kind.Validate(ctx, s.app, f, v)
}

func valuesOf(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	}
	return nil
}

func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	case []string:
		return len(x) == 0
	case json.RawMessage:
		s := strings.TrimSpace(string(x))
		return s == "" || s == "null" || s == `""` || s == "[]" || s == "{}"
	case GeoPoint:
		return x.Lon == 0 && x.Lat == 0
	}
	return false
}

// missingIDs returns which ids have no record in the collection.
func (s *RecordService) missingIDs(ctx context.Context, collectionID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	c, err := s.app.collections.Find(collectionID)
	if err != nil {
		return ids, nil
	}
	var found []string
	err = s.app.ReadDB(ctx).Table(c.Name).Where(`"id" IN ?`, ids).Pluck("id", &found).Error
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(found, id) {
			missing = append(missing, id)
		}
	}
	return missing, nil
}
