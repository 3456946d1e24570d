// Package hook implements Hatchgrid's typed hook chains.
//
// A Hook[T] holds an ordered list of handlers for events of type T. Trigger
// runs them as a chain: each handler decides whether to continue by calling
// e.Next(), may change the event before doing so, and sees the outcome of the
// rest of the chain (including the final default action) after Next returns.
//
// The package is a leaf: it knows nothing of the App, HTTP or the database.
package hook
