package security

import (
	"net/url"
	"strings"
)

// Redacted replaces a secret value in stored text: request logs keep the
// name of a secret query parameter, never its value.
const Redacted = "[redacted]"

// secretParamWords mark a query parameter that carries a secret when its
// name, lowercased, contains one: file and auth tokens (token,
// access_token, X-Amz-Security-Token), OAuth2 codes (code), API keys and
// signatures (key, apikey, sig, X-Amz-Signature), passwords, one-time
// passwords, session ids and credentials. A name is matched loosely on
// purpose: a false positive costs a value in a log, a miss a credential.
var secretParamWords = []string{
	"token", "secret", "passw", "pwd", "code", "key", "sig",
	"credential", "session", "otp", "authorization", "cookie",
}

// IsSecretParam reports whether a query parameter called name carries a
// secret (see secretParamWords).
func IsSecretParam(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretParamWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// ScrubURL returns raw, a URL or request URI (escaped or not), with the
// value of every secret query parameter replaced by Redacted. Parameter
// names are compared unescaped, so %74oken is a token too; everything
// else is kept byte for byte.
func ScrubURL(raw string) string {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	query, fragment, hasFragment := strings.Cut(query, "#")
	params := strings.Split(query, "&")
	changed := false
	for i, p := range params {
		name, value, hasValue := strings.Cut(p, "=")
		if !hasValue || value == Redacted {
			continue
		}
		decoded, err := url.QueryUnescape(name)
		if err != nil {
			decoded = name
		}
		if IsSecretParam(decoded) {
			params[i] = name + "=" + Redacted
			changed = true
		}
	}
	if !changed {
		return raw
	}
	out := base + "?" + strings.Join(params, "&")
	if hasFragment {
		out += "#" + fragment
	}
	return out
}
