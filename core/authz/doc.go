// Package authz is the first of Hatchgrid's two access gates: a Casbin
// enforcer that answers whether a subject may perform an action on a
// resource at all, before a collection's API rule decides which records.
//
// The model (model.conf, embedded) has role inheritance, resource patterns
// matched with keyMatch ("collection:*" covers "collection:posts") and
// deny-overrides: a request is allowed when some policy allows it and no
// policy denies it. Policies live in the main database, in a table that a
// migration creates, read and written through Casbin's GORM adapter.
//
// Every change made through an Enforcer is saved and applied in memory at
// once, so it holds from the next request on. Other instances learn of it
// through a persist.Watcher (SetWatcher), such as a Redis watcher, whose
// callback reloads the policies.
//
// The package is a leaf: it knows nothing of the App, collections or HTTP.
package authz
