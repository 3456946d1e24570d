package core

import (
	"context"
	"net/http"

	"github.com/hatchgrid/hatchgrid/core/hook"
)

// BootstrapEvent is the event of OnBootstrap.
type BootstrapEvent struct {
	hook.Event
	App     *App
	Context context.Context
}

// ServeEvent is the event of OnServe.
type ServeEvent struct {
	hook.Event
	App     *App
	Context context.Context
	// Server is the server about to listen; its Handler is the router.
	Server *http.Server
}

// TerminateEvent is the event of OnTerminate.
type TerminateEvent struct {
	hook.Event
	App     *App
	Context context.Context
}

// SuperuserAuthEvent is the event of OnSuperuserAuth.
type SuperuserAuthEvent struct {
	hook.Event
	App       *App
	Context   context.Context
	Superuser *Superuser
}

// SuperuserSaveEvent is the event of OnSuperuserSave.
type SuperuserSaveEvent struct {
	hook.Event
	App       *App
	Context   context.Context
	Superuser *Superuser
	IsNew     bool
}

// SuperuserDeleteEvent is the event of OnSuperuserDelete.
type SuperuserDeleteEvent struct {
	hook.Event
	App       *App
	Context   context.Context
	Superuser *Superuser
}

// RequestLogEvent is the event of OnRequestLogCreate.
type RequestLogEvent struct {
	hook.Event
	App *App
	Log *RequestLog
}
