package core

import (
	"strings"
)

// RequestInfo is what rules may ask about the request through
// @request.*: who is asking and what they sent.
type RequestInfo struct {
	// Auth is the authenticated record as a map of its fields (id,
	// collectionId, collectionName, ...), nil for guests.
	Auth    map[string]any
	Method  string
	Context string // "default", "realtime", "protectedFile", "batch", ...
	Query   map[string]string
	Headers map[string]string // lower-case names, "-" as "_"
	Body    map[string]any
	// IsSuperuser lets rules and filters see hidden fields.
	IsSuperuser bool
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
	if r == nil || r.Auth == nil {
		return ""
	}
	id, _ := r.Auth["id"].(string)
	return id
}

// SetAuth makes rec the authenticated record of the request: @request.auth
// sees its fields (hidden ones included, never the password hash or token
// key), and members of _superusers are superusers.
func (r *RequestInfo) SetAuth(rec *Record) {
	if rec == nil {
		r.Auth, r.IsSuperuser = nil, false
		return
	}
	r.Auth = rec.PublicExport(ExportOptions{ShowHidden: true, ShowEmail: true})
	r.IsSuperuser = rec.Collection().Name == SuperusersCollectionName
}
