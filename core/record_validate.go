package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Text fields without a max accept this many characters, PocketBase's.
const (
	defaultTextMax  = 5000
	defaultJSONMax  = 1 << 20
	defaultEditMax  = 5 << 20
	maxPasswordLen  = 71
	idPatternString = "^[a-z0-9]+$"
)

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

func (s *RecordService) validateField(ctx context.Context, rec *Record, f *Field) (FieldError, bool) {
	v := rec.data[f.Name]
	o := f.Options
	empty := isEmptyValue(v)
	if f.Required && empty && f.Type != FieldAutodate {
		return fe("validation_required", "Cannot be blank.")
	}
	if empty {
		return FieldError{}, true
	}
	switch f.Type {
	case FieldText:
		str := v.(string)
		n := utf8.RuneCountInString(str)
		max := defaultTextMax
		if o.Max != nil && *o.Max > 0 {
			max = int(*o.Max)
		}
		if o.Min != nil && n < int(*o.Min) {
			return fe("validation_min_text_constraint", "Must be at least %d character(s).", int(*o.Min))
		}
		if n > max {
			return fe("validation_max_text_constraint", "Must be less than %d character(s).", max)
		}
		if o.Pattern != "" {
			if re, err := regexp.Compile(o.Pattern); err == nil && !re.MatchString(str) {
				return fe("validation_invalid_format", "Invalid value format.")
			}
		}
	case FieldNumber:
		n := v.(float64)
		if o.OnlyInt && n != float64(int64(n)) {
			return fe("validation_only_int_constraint", "Decimal numbers are not allowed.")
		}
		if o.Min != nil && n < *o.Min {
			return fe("validation_min_number_constraint", "Must be larger than %v.", *o.Min)
		}
		if o.Max != nil && *o.Max != 0 && n > *o.Max {
			return fe("validation_max_number_constraint", "Must be less than %v.", *o.Max)
		}
	case FieldEmail:
		str := v.(string)
		if addr, err := mail.ParseAddress(str); err != nil || addr.Address != str {
			return fe("validation_is_email", "Must be a valid email address.")
		}
		if err, ok := checkDomain(str[strings.LastIndex(str, "@")+1:], o); !ok {
			return err, false
		}
	case FieldURL:
		u, err := url.Parse(v.(string))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fe("validation_is_url", "Must be a valid url.")
		}
		if err, ok := checkDomain(u.Hostname(), o); !ok {
			return err, false
		}
	case FieldEditor:
		if len(v.(string)) > defaultEditMax {
			return fe("validation_max_text_constraint", "Must be less than %d bytes.", defaultEditMax)
		}
	case FieldDate:
		d := v.(string)
		if o.MinDate != "" && d < toDate(o.MinDate) {
			return fe("validation_min_date_constraint", "Must be no earlier than %s.", o.MinDate)
		}
		if o.MaxDate != "" && d > toDate(o.MaxDate) {
			return fe("validation_max_date_constraint", "Must be no later than %s.", o.MaxDate)
		}
	case FieldSelect:
		for _, val := range valuesOf(v) {
			if !slices.Contains(o.Values, val) {
				return fe("validation_invalid_value", "Invalid value %s.", val)
			}
		}
		if n := len(valuesOf(v)); n > o.MaxSelect {
			return fe("validation_too_many_values", "Select no more than %d.", o.MaxSelect)
		}
	case FieldJSON:
		max := int(o.MaxSize)
		if max <= 0 {
			max = defaultJSONMax
		}
		if raw := v.(json.RawMessage); len(raw) > max {
			return fe("validation_json_size_limit", "The maximum allowed JSON size is %v bytes.", max)
		}
	case FieldRelation:
		ids := valuesOf(v)
		if n := len(ids); n > o.MaxSelect {
			return fe("validation_too_many_values", "Select no more than %d.", o.MaxSelect)
		}
		if o.MinSelect > 0 && len(ids) < o.MinSelect {
			return fe("validation_not_enough_values", "Select at least %d.", o.MinSelect)
		}
		if missing, err := s.missingIDs(ctx, o.CollectionID, ids); err != nil || len(missing) > 0 {
			return fe("validation_missing_rel_records", "Failed to find all relation records with the provided ids.")
		}
	case FieldFile:
		if n := len(valuesOf(v)); n > o.MaxSelect {
			return fe("validation_too_many_values", "Select no more than %d.", o.MaxSelect)
		}
	case FieldGeoPoint:
		p := v.(GeoPoint)
		if p.Lon < -180 || p.Lon > 180 || p.Lat < -90 || p.Lat > 90 {
			return fe("validation_invalid_geo_point", "Longitude must be between -180 and 180 and latitude between -90 and 90.")
		}
	}
	return FieldError{}, true
}

func checkDomain(domain string, o FieldOptions) (FieldError, bool) {
	domain = strings.ToLower(domain)
	if len(o.OnlyDomains) > 0 && !slices.ContainsFunc(o.OnlyDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return fe("validation_email_domain_not_allowed", "Domain %s is not allowed.", domain)
	}
	if slices.ContainsFunc(o.ExceptDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return fe("validation_email_domain_not_allowed", "Domain %s is not allowed.", domain)
	}
	return FieldError{}, true
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
