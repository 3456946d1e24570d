package core

import (
	"context"

	"github.com/hatchgrid/hatchgrid/core/dialect"
)

// FieldGeoPoint is the type of fields holding a GeoPoint.
const FieldGeoPoint = "geoPoint"

type geoPointKind struct{ FieldKindBase }

func (geoPointKind) Type() string { return FieldGeoPoint }

func (geoPointKind) ColumnType(*Field, dialect.Dialect) string {
	return `TEXT DEFAULT '{"lon":0,"lat":0}' NOT NULL`
}

func (geoPointKind) Normalize(_ *Field, v any) any { return toGeoPoint(v) }

func (geoPointKind) Validate(_ context.Context, _ *App, _ *Field, v any) (FieldError, bool) {
	p := v.(GeoPoint)
	if p.Lon < -180 || p.Lon > 180 || p.Lat < -90 || p.Lat > 90 {
		return fe("validation_invalid_geo_point", "Longitude must be between -180 and 180 and latitude between -90 and 90.")
	}
	return FieldError{}, true
}
