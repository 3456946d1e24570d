package core

import (
	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// RecordFilterResolver returns the resolver the records API compiles
// client filters (client set) or rules of c with for req, answering as if
// app ran on d, so that one test database yields both dialects' SQL. Tests
// only.
func RecordFilterResolver(app *App, d dialect.Dialect, c *Collection, req *RequestInfo, client bool) filter.FunctionResolver {
	view := &App{cfg: app.cfg, logger: app.logger, clock: app.clock, dialect: d, collections: app.collections, authz: app.authz}
	mode := ruleMode
	if client {
		mode = clientMode
	}
	return newRecordResolver(view, c, req, mode)
}

// NumFilterJoinKinds is the number of the resolver's join kinds, which
// FilterJoins must all describe.
const NumFilterJoinKinds = int(numJoinKinds)
