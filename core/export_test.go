package core

import (
	"slices"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// RecordFilterResolver returns the resolver the records API compiles
// filters and rules of c with for req, answering as if app ran on d, so
// that one test database yields both dialects' SQL. Tests only.
func RecordFilterResolver(app *App, d dialect.Dialect, c *Collection, req *RequestInfo) filter.FunctionResolver {
	view := &App{cfg: app.cfg, logger: app.logger, clock: app.clock, dialect: d, collections: app.collections, authz: app.authz}
	return newRecordResolver(view, c, req)
}

// FieldTypes lists every field type the server accepts. Tests only.
func FieldTypes() []string {
	out := make([]string, 0, len(fieldKeys))
	for t := range fieldKeys {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
