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

// SystemActor returns the actor of Hatchgrid itself. Run code as it with
// AsSystem, which also drops the caller's record and request data.
func SystemActor() Actor { return Actor{System: true} }

// IsGuest reports whether no one is authenticated.
func (a Actor) IsGuest() bool { return !a.System && a.ID == "" }

// IsSuperuser reports whether a is a superuser or the system.
func (a Actor) IsSuperuser() bool {
	return a.System || (a.ID != "" && a.CollectionName == SuperusersCollectionName)
}

// WithActor returns ctx carrying a as the caller, the rest of ctx's request
// info kept. @request.auth then sees a's ids only; the HTTP layer, which
// has the record, uses RequestInfo.SetAuth instead.
func WithActor(ctx context.Context, a Actor) context.Context {
	info := RequestFrom(ctx)
	info.Actor, info.Auth, info.authRecord = a, actorAuth(a), nil
	return WithRequest(ctx, info)
}

// actorAuth is what @request.auth sees of an actor known only by its ids.
func actorAuth(a Actor) map[string]any {
	if a.IsGuest() || a.System {
		return nil
	}
	m := map[string]any{"id": a.ID, "collectionId": a.CollectionID, "collectionName": a.CollectionName}
	if a.Email != "" {
		m["email"] = a.Email
	}
	return m
}

// ActorFrom returns the caller carried by ctx, a guest if none.
func ActorFrom(ctx context.Context) Actor { return RequestFrom(ctx).Actor }

// WithClientIP returns ctx carrying the client IP of the request it serves,
// as the HTTP layer resolved it (settings.trustedProxy applied).
func WithClientIP(ctx context.Context, ip string) context.Context {
	info := RequestFrom(ctx)
	info.ClientIP = ip
	return WithRequest(ctx, info)
}

// ClientIPFrom returns the client IP carried by ctx, "" outside a request
// (jobs, the CLI).
func ClientIPFrom(ctx context.Context) string { return RequestFrom(ctx).ClientIP }
