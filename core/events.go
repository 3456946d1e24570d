package core

import (
	"context"
	"errors"
	"net/http"

	"github.com/hatchgrid/hatchgrid/core/authz"
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
	// Restart, when not nil, replaces the process with a fresh run of the
	// same command that takes over the listening socket and the data dir
	// lock, so that clients meet a slow answer rather than a refused
	// connection while it starts. Call it once Server and the App are shut
	// down. It returns only if the process was not replaced: with
	// ErrRestartCancelled when SIGINT or SIGTERM asked the server to stop
	// meanwhile (the command then exits as on any stop), or with the
	// error that kept it from re-executing. `hatchgrid serve` sets it on
	// Unix systems.
	Restart func() error
}

// ErrRestartCancelled is what ServeEvent.Restart returns when the server
// was asked to stop before the process could be replaced.
var ErrRestartCancelled = errors.New("restart cancelled: the server is stopping")

// TerminateEvent is the event of OnTerminate.
type TerminateEvent struct {
	hook.Event
	App     *App
	Context context.Context
}

// RequestLogEvent is the event of OnRequestLogCreate.
type RequestLogEvent struct {
	hook.Event
	App *App
	Log *RequestLog
}

// CollectionEvent is the event of the collection hooks.
type CollectionEvent struct {
	hook.Event
	App     *App
	Context context.Context
	// Collection is the collection being created, updated or deleted.
	Collection *Collection
	// Old is the collection before an update; nil otherwise.
	Old *Collection
}

// Tags implements hook.Tagger: a collection event is tagged with the
// collection's id and name.
func (e *CollectionEvent) Tags() []string { return []string{e.Collection.ID, e.Collection.Name} }

// RecordEvent is the event of the record hooks.
type RecordEvent struct {
	hook.Event
	App     *App
	Context context.Context
	Record  *Record
	// Request is the caller and request that e.Context carries (see
	// RequestFrom), with @request.body as resolved for a create or
	// update; the system's for work done under AsSystem. A copy: changing
	// it changes nothing else.
	Request *RequestInfo
}

// Tags implements hook.Tagger: a record event is tagged with its
// collection's id and name.
func (e *RecordEvent) Tags() []string {
	c := e.Record.Collection()
	return []string{c.ID, c.Name}
}

// RecordRequestEvent is the event of the record request hooks, which the
// HTTP layer fires around one records API request before the service (and
// its rules and record hooks) runs. Handlers may change Query or Body
// before e.Next(); after it, Record or Result hold the outcome. A handler
// that answers the request itself writes to Response and returns without
// calling e.Next().
type RecordRequestEvent struct {
	hook.Event
	App      *App
	Context  context.Context
	Request  *http.Request
	Response http.ResponseWriter
	// Info is the request info of the request (caller, @request.*), a copy
	// of the one its context carries; e.Context carries Info as it was
	// when the hooks started, and the service gets Info as they leave it.
	Info       *RequestInfo
	Collection *Collection
	// ID is the record id of view, update and delete requests.
	ID string
	// Query is the list request (list only).
	Query *RecordQuery
	// Body is the submitted data (create and update only), as rules see
	// it: each key naming a field, "x+", "+x" and "x-" included, is
	// replaced by the field's final value under its name (see
	// RecordService.ResolveBody).
	Body map[string]any
	// Record is the viewed, created or updated record, after e.Next().
	Record *Record
	// Result is the page of a list request, after e.Next().
	Result *ListResult[*Record]
}

// Tags implements hook.Tagger: the collection's id and name.
func (e *RecordRequestEvent) Tags() []string { return []string{e.Collection.ID, e.Collection.Name} }

// JobEvent is the event of OnJobRun.
type JobEvent struct {
	hook.Event
	App     *App
	Context context.Context
	Job     *Job
}

// Tags implements hook.Tagger: a job event is tagged with the job type.
func (e *JobEvent) Tags() []string { return []string{e.Job.Type} }

// SettingsEvent is the event of OnSettingsUpdate.
type SettingsEvent struct {
	hook.Event
	App     *App
	Context context.Context
	// Old are the settings before the change, secrets included.
	Old *Settings
	// New are the settings about to be stored, secrets included; a
	// handler may change them before e.Next() (they are validated again).
	New *Settings
}

// The actions of a PolicyEvent.
const (
	PolicyCreate     = "policy.create"
	PolicyUpdate     = "policy.update"
	PolicyDelete     = "policy.delete"
	RoleSave         = "role.save"
	RoleDelete       = "role.delete"
	RoleMemberAdd    = "role.member.add"
	RoleMemberRemove = "role.member.remove"
)

// PolicyEvent is the event of OnPolicyChange: one change of the Casbin
// policies or role assignments. Which of the fields are set depends on
// Action: the policy actions set OldPolicy (update, delete) and Policy
// (create, update); the role actions set Role (the role's name), OldRole
// (nil when the role did not exist), NewRole after e.Next() (nil once
// deleted) and, for member changes, Member.
type PolicyEvent struct {
	hook.Event
	App     *App
	Context context.Context
	Action  string

	OldPolicy *authz.Policy
	Policy    *authz.Policy

	Role    string
	OldRole *RoleView
	NewRole *RoleView
	Member  *RoleMember
}

// Tags implements hook.Tagger: a policy event is tagged with its action.
func (e *PolicyEvent) Tags() []string { return []string{e.Action} }
