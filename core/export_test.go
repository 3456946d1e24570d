package core

import (
	"context"
	"time"

	"github.com/alicebob/miniredis/v2"
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

// JournalSyncs returns how many fsyncs app's embedded queue journal has
// done (0 without one). Tests only.
func JournalSyncs(app *App) uint64 {
	if e := app.jobs.embedded; e != nil && e.journal != nil {
		return e.journal.Syncs()
	}
	return 0
}

// WriteQueueSnapshot saves m's keys to path as embedded mode's snapshot,
// for tests that build a queue faster than Enqueue can. Tests only.
func WriteQueueSnapshot(m *miniredis.Miniredis, path string, now time.Time) error {
	return writeSnapshot(path, copyKeys(m.DB(0)), 0, now)
}

// SaveEmbeddedQueue saves app's embedded queue now and returns how long
// the queue was paused for it. Tests only.
func SaveEmbeddedQueue(app *App) (time.Duration, error) {
	return app.jobs.saveEmbeddedTimed(context.Background())
}
