package apis

import (
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// RequireAdmin guards an admin route with Casbin: superusers pass, guests
// get a 401, and any other caller (a staff account, a user) needs a policy
// allowing "read" (GET and HEAD) or "write" (every other method) on
// resource, e.g. "admin:schema"; otherwise a 403.
func RequireAdmin(app *core.App, resource string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			actor := core.ActorFrom(ctx)
			if actor.IsGuest() {
				return errUnauthorized()
			}
			ok, err := app.Can(ctx, resource, adminAction(c.Request().Method))
			if err != nil {
				return err
			}
			if !ok {
				return errNotSuperuser()
			}
			return next(c)
		}
	}
}

// adminAction is the action on an admin resource that an HTTP method
// performs.
func adminAction(method string) string {
	if method == http.MethodGet || method == http.MethodHead {
		return "read"
	}
	return "write"
}

// RequireAuth answers 401 to guests: any signed-in record or superuser
// passes. Plugins use it as route middleware, like RequireSuperuser and
// RequireAdmin.
func RequireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if core.ActorFrom(c.Request().Context()).IsGuest() {
			return errUnauthorized()
		}
		return next(c)
	}
}
