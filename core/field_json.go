package core

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// FieldJSON is the type of fields holding any JSON document.
const FieldJSON = "json"

// JSON fields without a maxSize accept this many bytes, PocketBase's.
const defaultJSONMax = 1 << 20

type jsonKind struct{ FieldKindBase }

func (jsonKind) Type() string { return FieldJSON }

func (jsonKind) Traits() FieldTraits { return FieldTraits{Document: true} }

func (jsonKind) MarshalOptions(f *Field, m map[string]any) { putOptions(m, f.Options, "maxSize") }

func (jsonKind) ColumnType(_ *Field, d dialect.Dialect) string { return d.ColumnType(dialect.JSON) }

func (jsonKind) Normalize(_ *Field, v any) any { return toJSON(v) }

func (jsonKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	max := int(f.Options.MaxSize)
	if max <= 0 {
		max = defaultJSONMax
	}
	if raw := v.(json.RawMessage); len(raw) > max {
		return fe("validation_json_size_limit", "The maximum allowed JSON size is %v bytes.", max)
	}
	return FieldError{}, true
}

func (jsonKind) FilterType(*Field) filter.Type { return filter.TypeUnknown }

func (jsonKind) ViewColumn(dbType string) bool {
	return strings.Contains(strings.ToUpper(dbType), "JSON")
}
