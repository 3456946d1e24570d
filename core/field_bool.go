package core

import (
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// FieldBool is the type of bool fields.
const FieldBool = "bool"

type boolKind struct{ FieldKindBase }

func (boolKind) Type() string { return FieldBool }

func (boolKind) ColumnType(_ *Field, d dialect.Dialect) string { return d.ColumnType(dialect.Bool) }

func (boolKind) Normalize(_ *Field, v any) any { return toBool(v) }

func (boolKind) FilterType(*Field) filter.Type { return filter.TypeBool }

func (boolKind) ViewColumn(dbType string) bool {
	return strings.Contains(strings.ToUpper(dbType), "BOOL")
}
