package core

import (
	"context"
	"strings"
)

// RequestInfo is who is asking and what they sent: the one value that
// carries a caller's identity, built once per request by the HTTP layer
// and carried in the request's context (WithRequest, RequestFrom). The
// services read it from ctx, the API rules see it as @request.*, and hook
// events carry it, so that all of them see the same caller.
//
// Work that Hatchgrid does itself (jobs, the CLI, a plugin acting for the
// system) runs under AsSystem(ctx); outside any request ctx carries a guest.
type RequestInfo struct {
	// Actor is who is asking: a guest (the zero value), an auth record
	// or the system. Every identity check reads it.
	Actor Actor
	// Auth is Actor's record as @request.auth sees it, a map of its fields
	// (id, collectionId, collectionName, ...), nil for guests and the
	// system. SetAuth sets it together with Actor.
	Auth map[string]any
	// Refreshable is whether the token that proved Actor may be refreshed
	// (static and impersonation tokens may not).
	Refreshable bool
	// ClientIP is the client IP of the request, as the HTTP layer resolved
	// it (settings.trustedProxy applied); "" outside a request.
	ClientIP string
	Method   string
	Context  string // "default", "realtime", "protectedFile", "batch", ...
	Query    map[string]string
	Headers  map[string]string // lower-case names, "-" as "_"
	Body     map[string]any

	authRecord *Record
}

// IsSuperuser reports whether the caller is a superuser or the system, who
// see hidden fields and pass every rule.
func (r *RequestInfo) IsSuperuser() bool { return r != nil && r.Actor.IsSuperuser() }

// AuthRecord returns the auth record that SetAuth made the caller, nil for
// guests, the system and infos built without a record.
func (r *RequestInfo) AuthRecord() *Record {
	if r == nil {
		return nil
	}
	return r.authRecord
}

// NormalizeHeaders turns header names into the keys rules use:
// lower case with "-" as "_".
func NormalizeHeaders(h map[string][]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[strings.ReplaceAll(strings.ToLower(k), "-", "_")] = v[0]
		}
	}
	return out
}

func (r *RequestInfo) authID() string {
	if r == nil {
		return ""
	}
	return r.Actor.ID
}

// SetAuth makes rec the authenticated record of the request: Actor is rec,
// @request.auth sees its fields (hidden ones included, never the password
// hash or token key), and members of _superusers are superusers. A nil rec
// makes the caller a guest.
func (r *RequestInfo) SetAuth(rec *Record) {
	if rec == nil {
		r.Actor, r.Auth, r.authRecord = Actor{}, nil, nil
		return
	}
	r.Actor = Actor{
		CollectionID:   rec.Collection().ID,
		CollectionName: rec.Collection().Name,
		ID:             rec.ID(),
		Email:          rec.GetString("email"),
	}
	r.Auth = rec.PublicExport(ExportOptions{ShowHidden: true, ShowEmail: true})
	r.authRecord = rec
}

type requestKey struct{}

// WithRequest returns ctx carrying a copy of info, for the services, rules
// and hooks that run under it. Later changes to info do not reach ctx.
func WithRequest(ctx context.Context, info *RequestInfo) context.Context {
	var cp RequestInfo
	if info != nil {
		cp = *info
	}
	return context.WithValue(ctx, requestKey{}, &cp)
}

// RequestFrom returns a copy of the request info carried by ctx, a guest's
// empty one if none. The copy is the caller's to change (its maps are
// shared: replace them rather than write into them).
func RequestFrom(ctx context.Context) *RequestInfo {
	var cp RequestInfo
	if info, ok := ctx.Value(requestKey{}).(*RequestInfo); ok {
		cp = *info
	}
	return &cp
}

// AsSystem returns ctx carrying a fresh request info of the system, which
// passes every check: for work Hatchgrid does itself, on its own or for a
// caller (a job, the CLI, a plugin, a verification link). Only the client
// IP of ctx's request, if any, stays, so that audit entries keep it.
func AsSystem(ctx context.Context) context.Context {
	return WithRequest(ctx, &RequestInfo{Actor: SystemActor(), ClientIP: RequestFrom(ctx).ClientIP})
}
