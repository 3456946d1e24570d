package core

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// These conversions implement PocketBase's loose coercion of submitted
// values: a number field given "abc" stores 0, a bool given "yes" stores
// false, and so on. They never fail.

// cleanText drops NUL bytes and replaces invalid UTF-8: PostgreSQL text
// cannot hold either, and SQLite should not get what PostgreSQL refuses.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return cleanText(x)
	case []byte:
		return cleanText(string(x))
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case []string, []any, map[string]any:
		return "" // a list or object is not a text value
	}
	return fmt.Sprint(v)
}

func toFloat(v any) float64 {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case json.Number:
		f, _ = x.Float64()
	case bool:
		if x {
			f = 1
		}
	case string, []byte:
		f, _ = strconv.ParseFloat(strings.TrimSpace(toString(x)), 64)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func toBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case json.Number:
		f, _ := x.Float64()
		return f != 0
	case string, []byte:
		b, _ := strconv.ParseBool(strings.TrimSpace(toString(x)))
		return b
	}
	return false
}

// toStrings turns a value into a list: lists element-wise, a JSON array in
// a string decoded, any other non-empty value as a one-element list.
func toStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case nil:
	case []string:
		out = x
	case []any:
		for _, e := range x {
			if s := toString(e); s != "" {
				out = append(out, s)
			}
		}
	case string, []byte:
		s := strings.TrimSpace(toString(x))
		if strings.HasPrefix(s, "[") {
			var list []any
			if json.Unmarshal([]byte(s), &list) == nil {
				return toStrings(list)
			}
		}
		if s != "" {
			out = []string{s}
		}
	default:
		if s := toString(x); s != "" {
			out = []string{s}
		}
	}
	return uniqueStrings(out)
}

func uniqueStrings(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// dateLayouts are the date formats accepted for date fields.
var dateLayouts = []string{
	DateTimeLayout,
	"2006-01-02 15:04:05.000000Z",
	"2006-01-02 15:04:05Z",
	"2006-01-02 15:04:05",
	time.RFC3339Nano,
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// toDate parses a date in any accepted layout and returns it in
// DateTimeLayout; unparsable input gives "".
func toDate(v any) string {
	s := strings.TrimSpace(toString(v))
	if s == "" {
		return ""
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return FormatTime(t)
		}
	}
	return ""
}

// GeoPoint is a geoPoint field's value.
type GeoPoint struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

func toGeoPoint(v any) GeoPoint {
	switch x := v.(type) {
	case GeoPoint:
		return x
	case map[string]any:
		return GeoPoint{Lon: toFloat(x["lon"]), Lat: toFloat(x["lat"])}
	case string, []byte:
		var m map[string]any
		if json.Unmarshal([]byte(toString(x)), &m) == nil {
			return toGeoPoint(m)
		}
	}
	return GeoPoint{}
}

// toJSON returns v as a JSON document: strings that hold JSON are kept as
// they are, other strings become JSON strings; nil stays nil. NUL
// characters are dropped and lone surrogates replaced (PostgreSQL's JSONB
// refuses both).
func toJSON(v any) json.RawMessage {
	raw := rawJSON(v)
	if !jsonBadEscape.Match(raw) {
		return raw
	}
	var doc any
	if json.Unmarshal(raw, &doc) != nil {
		return raw
	}
	b, err := json.Marshal(withoutNUL(doc))
	if err != nil {
		return nil
	}
	return b
}

func withoutNUL(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "\x00", "")
	case []any:
		for i := range x {
			x[i] = withoutNUL(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ReplaceAll(k, "\x00", "")] = withoutNUL(e)
		}
		return out
	}
	return v
}

// jsonBadEscape matches the escapes of NUL and of UTF-16 surrogates, which
// toJSON decodes away (paired surrogates come back as the character).
var jsonBadEscape = regexp.MustCompile(`(?i)\\u(0000|d[89a-f])`)

func rawJSON(v any) json.RawMessage {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch x := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		return x
	case string:
		// Cleaned before it is judged: NUL and invalid UTF-8 must neither
		// reach the document nor decide whether the text is JSON.
		x = cleanText(x)
		if json.Valid([]byte(x)) {
			return json.RawMessage(x)
		}
		v = x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// normalize converts a value to the Go type f's values have in a Record:
// a list of strings for a field of several values, else what its kind
// makes of it (string, float64, bool, json.RawMessage, GeoPoint, ...).
func normalize(f *Field, v any) any {
	if f.IsMultiple() {
		return toStrings(v)
	}
	return f.Kind().Normalize(f, v)
}

// zeroValue is the value of an unset field.
func zeroValue(f *Field) any { return normalize(f, nil) }

// columnValue converts a normalized value to what f's column stores.
func columnValue(f *Field, v any) any {
	switch x := v.(type) {
	case []string:
		b, _ := json.Marshal(x)
		return string(b)
	case json.RawMessage:
		if len(x) == 0 {
			return nil
		}
		return string(x)
	case GeoPoint:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return v
}
