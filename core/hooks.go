package core

import "github.com/hatchgrid/hatchgrid/core/hook"

// hooks holds every hook of the App. Each is exposed through an On<Noun><Verb>
// accessor below; plugins bind to those.
type hooks struct {
	onBootstrap        hook.Hook[*BootstrapEvent]
	onServe            hook.Hook[*ServeEvent]
	onTerminate        hook.Hook[*TerminateEvent]
	onRequestLogCreate hook.Hook[*RequestLogEvent]
	onCollectionCreate hook.Hook[*CollectionEvent]
	onCollectionUpdate hook.Hook[*CollectionEvent]
	onCollectionDelete hook.Hook[*CollectionEvent]

	onRecordCreate          hook.Hook[*RecordEvent]
	onRecordUpdate          hook.Hook[*RecordEvent]
	onRecordDelete          hook.Hook[*RecordEvent]
	onRecordCreateCommitted hook.Hook[*RecordEvent]
	onRecordUpdateCommitted hook.Hook[*RecordEvent]
	onRecordDeleteCommitted hook.Hook[*RecordEvent]

	onRecordsListRequest  hook.Hook[*RecordRequestEvent]
	onRecordViewRequest   hook.Hook[*RecordRequestEvent]
	onRecordCreateRequest hook.Hook[*RecordRequestEvent]
	onRecordUpdateRequest hook.Hook[*RecordRequestEvent]
	onRecordDeleteRequest hook.Hook[*RecordRequestEvent]

	onJobRun hook.Hook[*JobEvent]

	onSettingsUpdate hook.Hook[*SettingsEvent]
	onPolicyChange   hook.Hook[*PolicyEvent]
}

// OnBootstrap fires when Bootstrap runs. Code before e.Next() runs before the
// databases are opened and migrated; code after it sees a ready App.
// Returning an error aborts Bootstrap.
func (a *App) OnBootstrap() *hook.Hook[*BootstrapEvent] { return &a.onBootstrap }

// OnServe fires when the HTTP server is about to start listening (from
// apis.Serve). Handlers may adjust e.Server (timeouts, TLS) before e.Next();
// an error aborts serving.
func (a *App) OnServe() *hook.Hook[*ServeEvent] { return &a.onServe }

// OnTerminate fires once, when Shutdown runs. Code before e.Next() runs while
// the databases are still open; after it they are closed.
func (a *App) OnTerminate() *hook.Hook[*TerminateEvent] { return &a.onTerminate }

// OnRequestLogCreate fires for each request log before it is queued for
// storage, outside any transaction. Handlers may change or enrich e.Log;
// returning without e.Next() drops the entry. The values of secret query
// parameters in e.Log.URL and e.Log.Referer are replaced before the
// handlers see them and again after, whatever a handler sets.
func (a *App) OnRequestLogCreate() *hook.Hook[*RequestLogEvent] { return &a.onRequestLogCreate }

// OnCollectionCreate fires when a collection is created, inside the
// transaction, after validation and before its table is created: handlers
// may adjust e.Collection or veto with an error. Tags: collection id and
// name.
func (a *App) OnCollectionCreate(tags ...string) *hook.TaggedHook[*CollectionEvent] {
	return hook.NewTaggedHook(&a.onCollectionCreate, tags...)
}

// OnCollectionUpdate fires when a collection changes, inside the
// transaction, after validation and before the table is altered; e.Old is
// the definition before the change.
func (a *App) OnCollectionUpdate(tags ...string) *hook.TaggedHook[*CollectionEvent] {
	return hook.NewTaggedHook(&a.onCollectionUpdate, tags...)
}

// OnCollectionDelete fires when a collection is deleted, inside the
// transaction, before its table is dropped; an error vetoes the delete.
func (a *App) OnCollectionDelete(tags ...string) *hook.TaggedHook[*CollectionEvent] {
	return hook.NewTaggedHook(&a.onCollectionDelete, tags...)
}

// OnRecordCreate fires when a record is created, inside the transaction,
// after validation and before the row is written: handlers may change
// e.Record or veto with an error (a core.Invalid error gives the client
// PocketBase's validation response). Code after e.Next() sees the written
// row, still inside the transaction. Tags: collection id and name.
func (a *App) OnRecordCreate(tags ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTaggedHook(&a.onRecordCreate, tags...)
}

// OnRecordUpdate fires when a record is updated, inside the transaction,
// after validation and before the row is written; e.Record.Original gives
// the stored values.
func (a *App) OnRecordUpdate(tags ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTaggedHook(&a.onRecordUpdate, tags...)
}

// OnRecordDelete fires when a record is deleted (cascades included),
// inside the transaction, before the row is removed; an error vetoes the
// whole delete.
func (a *App) OnRecordDelete(tags ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTaggedHook(&a.onRecordDelete, tags...)
}

// OnRecordCreateCommitted fires after a record's creation is committed: the
// place for side effects (mail, webhooks, jobs). Its errors are ignored.
// When the create joins an outer transaction (a batch), it fires after that
// transaction commits, and never if it rolls back.
func (a *App) OnRecordCreateCommitted(tags ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTaggedHook(&a.onRecordCreateCommitted, tags...)
}

// OnRecordUpdateCommitted fires after a record's update is committed (the
// outermost transaction's commit, as for OnRecordCreateCommitted).
func (a *App) OnRecordUpdateCommitted(tags ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTaggedHook(&a.onRecordUpdateCommitted, tags...)
}

// OnRecordDeleteCommitted fires after a record's deletion is committed (the
// outermost transaction's commit, as for OnRecordCreateCommitted).
func (a *App) OnRecordDeleteCommitted(tags ...string) *hook.TaggedHook[*RecordEvent] {
	return hook.NewTaggedHook(&a.onRecordDeleteCommitted, tags...)
}

// OnRecordsListRequest fires for GET /api/collections/{c}/records before
// the list runs; e.Query may be changed, e.Result holds the page after
// e.Next(). Outside any transaction.
func (a *App) OnRecordsListRequest(tags ...string) *hook.TaggedHook[*RecordRequestEvent] {
	return hook.NewTaggedHook(&a.onRecordsListRequest, tags...)
}

// OnRecordViewRequest fires for GET /api/collections/{c}/records/{id};
// e.Record holds the record after e.Next().
func (a *App) OnRecordViewRequest(tags ...string) *hook.TaggedHook[*RecordRequestEvent] {
	return hook.NewTaggedHook(&a.onRecordViewRequest, tags...)
}

// OnRecordCreateRequest fires for POST /api/collections/{c}/records before
// the create (and its transaction) starts; e.Body, the submitted values
// with key modifiers resolved (see RecordService.ResolveBody), may be
// changed.
func (a *App) OnRecordCreateRequest(tags ...string) *hook.TaggedHook[*RecordRequestEvent] {
	return hook.NewTaggedHook(&a.onRecordCreateRequest, tags...)
}

// OnRecordUpdateRequest fires for PATCH /api/collections/{c}/records/{id}
// before the update starts; e.Body, the submitted values with key
// modifiers resolved against the stored record (see
// RecordService.ResolveBody), may be changed.
func (a *App) OnRecordUpdateRequest(tags ...string) *hook.TaggedHook[*RecordRequestEvent] {
	return hook.NewTaggedHook(&a.onRecordUpdateRequest, tags...)
}

// OnRecordDeleteRequest fires for DELETE /api/collections/{c}/records/{id}
// before the delete starts.
func (a *App) OnRecordDeleteRequest(tags ...string) *hook.TaggedHook[*RecordRequestEvent] {
	return hook.NewTaggedHook(&a.onRecordDeleteRequest, tags...)
}

// OnJobRun fires around every run of a job on this instance's workers
// (and of inline jobs), outside any transaction. Code before e.Next()
// runs before the handler and may change e.Job; code after it sees the
// handler's error as Next's result. Returning an error vetoes the run:
// the job fails with it and is retried or archived as any failure (wrap
// SkipRetry to archive at once). Tags: the job type.
func (a *App) OnJobRun(tags ...string) *hook.TaggedHook[*JobEvent] {
	return hook.NewTaggedHook(&a.onJobRun, tags...)
}

// OnSettingsUpdate fires when the settings are saved (SaveSettings, PATCH
// /api/settings), inside the transaction of the write, after validation:
// e.Old and e.New hold the settings before and after, secrets included.
// Handlers may change e.New (it is validated again) or veto with an
// error, which rolls the transaction back; code after e.Next() sees the
// row written, still inside the transaction.
func (a *App) OnSettingsUpdate() *hook.Hook[*SettingsEvent] { return &a.onSettingsUpdate }

// OnPolicyChange fires around every change of the Casbin policies or role
// assignments made through the PolicyService (and so the API). Code
// before e.Next() runs before the change and may veto it with an error;
// after e.Next() the change is applied. Casbin writes through its own
// database handle, so the change is not part of a transaction: a handler
// that writes (audit) does so after e.Next(), in the caller's
// transaction if ctx carries one. Tags: the action (core.PolicyCreate,
// ...).
func (a *App) OnPolicyChange(tags ...string) *hook.TaggedHook[*PolicyEvent] {
	return hook.NewTaggedHook(&a.onPolicyChange, tags...)
}

// TriggerRecordRequest runs the request hook of action ("list", "view",
// "create", "update" or "delete") with final as the default action; the
// HTTP layer calls it.
func (a *App) TriggerRecordRequest(action string, e *RecordRequestEvent, final func(*RecordRequestEvent) error) error {
	hooks := map[string]*hook.Hook[*RecordRequestEvent]{
		"list": &a.onRecordsListRequest, "view": &a.onRecordViewRequest, "create": &a.onRecordCreateRequest,
		"update": &a.onRecordUpdateRequest, "delete": &a.onRecordDeleteRequest,
	}
	return hooks[action].Trigger(e, final)
}
