package core

import "context"

// SuperusersCollectionName is the name of the superusers' auth collection.
const SuperusersCollectionName = "_superusers"

// Actor is who performs an operation: a guest (the zero value), an
// authenticated record of an auth collection, or the system itself (jobs,
// migrations, the CLI) which passes every check.
type Actor struct {
	CollectionID   string
	CollectionName string
	ID             string
	// Email is the record's email when its collection has one, for
	// display (audit entries); it plays no part in any check.
	Email  string
	System bool
}

// SystemActor acts for Hatchgrid itself.
var SystemActor = Actor{System: true}

// IsGuest reports whether no one is authenticated.
func (a Actor) IsGuest() bool { return !a.System && a.ID == "" }

// IsSuperuser reports whether a is a superuser or the system.
func (a Actor) IsSuperuser() bool {
	return a.System || (a.ID != "" && a.CollectionName == SuperusersCollectionName)
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx, a guest if none.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the client IP of the request it serves,
// as the HTTP layer resolved it (settings.trustedProxy applied).
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIPFrom returns the client IP carried by ctx, "" outside a request
// (jobs, the CLI).
func ClientIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}
