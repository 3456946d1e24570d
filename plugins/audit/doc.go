// Package audit keeps an append-only log of who changed what: collection
// definitions, the settings, Casbin policies and roles, and the records of
// the collections it is told to watch. Each entry names the actor
// (superuser, auth record or the system) with the client IP, the action,
// the resource and a diff of the changed keys with secrets redacted. It is
// written in the transaction of the change where the hook runs inside
// one, so a rolled-back change leaves no entry; the database refuses to
// update or delete entries. GET /api/hg/audit lists them for superusers
// and callers allowed "read" on "admin:audit". See docs/audit.md.
package audit
