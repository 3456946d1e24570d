package apis

import (
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// Keys of values the middleware stores in echo's context.
const (
	ctxAuth        = "hg.auth"
	ctxRefreshable = "hg.refreshable"
)

// authRecord returns the auth record authenticated for c, or nil.
func authRecord(c echo.Context) *core.Record {
	rec, _ := c.Get(ctxAuth).(*core.Record)
	return rec
}
