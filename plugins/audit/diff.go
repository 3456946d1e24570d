package audit

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Redacted replaces the value of a secret in a diff: the entry shows that
// it changed, never what it was or became.
const Redacted = "[redacted]"

// Change is one changed key of a diff. Before is null for a key that did
// not exist (a create) or was null, After likewise.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// Diff maps the dotted path of each changed key ("listRule",
// "smtp.password", "fields.title.required") to its change. Objects are
// compared key by key; arrays of objects that all have a distinct "name"
// are compared element by element under that name; other arrays as a
// whole.
type Diff map[string]Change

// diff compares two values as their JSON encodings (nil for none) and
// returns the changed keys, secrets redacted.
func diff(before, after any) (Diff, error) {
	b, err := flatten(before)
	if err != nil {
		return nil, err
	}
	a, err := flatten(after)
	if err != nil {
		return nil, err
	}
	out := Diff{}
	for k, bv := range b {
		av, ok := a[k]
		if ok && reflect.DeepEqual(av, bv) {
			continue
		}
		c := Change{Before: bv}
		if ok {
			c.After = av
		}
		out[k] = redact(k, c)
	}
	for k, av := range a {
		if _, ok := b[k]; !ok {
			out[k] = redact(k, Change{After: av})
		}
	}
	return out, nil
}

// flatten turns v's JSON encoding into leaf paths.
func flatten(v any) (map[string]any, error) {
	out := map[string]any{}
	if v == nil {
		return out, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	walk("", generic, out)
	return out, nil
}

func walk(prefix string, v any, out map[string]any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 && prefix != "" {
			out[prefix] = t
		}
		for k, child := range t {
			walk(join(k), child, out)
		}
	case []any:
		if names, ok := namedElements(t); ok && prefix != "" {
			for i, name := range names {
				walk(join(name), t[i], out)
			}
			return
		}
		out[prefix] = t
	default:
		out[prefix] = t
	}
}

// namedElements returns the "name" of every element of an array of
// objects when all have a distinct one.
func namedElements(arr []any) ([]string, bool) {
	if len(arr) == 0 {
		return nil, false
	}
	names := make([]string, len(arr))
	seen := map[string]bool{}
	for i, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			return nil, false
		}
		name, _ := m["name"].(string)
		if name == "" || seen[name] || strings.Contains(name, ".") {
			return nil, false
		}
		seen[name] = true
		names[i] = name
	}
	return names, true
}

// secretWords mark a key whose value is a secret when they appear in its
// last path segment (case-insensitive).
var secretWords = []string{"password", "secret", "tokenkey", "apikey", "privatekey", "accesstoken", "refreshtoken"}

// isSecret reports whether the key at path holds a secret.
func isSecret(path string) bool {
	last := strings.ToLower(path[strings.LastIndexByte(path, '.')+1:])
	if last == "token" || strings.HasSuffix(last, "_token") {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(last, w) {
			return true
		}
	}
	return false
}

func redact(path string, c Change) Change {
	if !isSecret(path) {
		return c
	}
	return redactChange(c)
}

// redactChange hides both sides of c, keeping which of them exist.
func redactChange(c Change) Change {
	if c.Before != nil {
		c.Before = Redacted
	}
	if c.After != nil {
		c.After = Redacted
	}
	return c
}
