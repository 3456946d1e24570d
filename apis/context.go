package apis

import (
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// Keys of values the middleware stores in echo's context.
const (
	ctxSuperuser   = "hg.superuser"
	ctxRefreshable = "hg.refreshable"
)

// authSuperuser returns the superuser authenticated for c, or nil.
func authSuperuser(c echo.Context) *core.Superuser {
	su, _ := c.Get(ctxSuperuser).(*core.Superuser)
	return su
}
