// Package apis is Hatchgrid's HTTP layer: the echo router, middleware,
// request/response shapes and the one error handler that writes
// PocketBase-shaped errors. Handlers are thin: they bind the request, call
// one core service and encode its result; the rules live in core.
package apis
