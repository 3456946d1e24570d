package core

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// mergeJSON returns the JSON object base with the JSON object patch
// applied over it, the way PATCH bodies apply to stored options and
// settings: objects merge key by key, so that a key left out keeps its
// value, while any other value (arrays included) replaces the stored one
// wholly. A null leaves the stored value as it is, except that it clears
// an array, as decoding null into a Go slice does. An empty base is an
// empty object. Numbers are kept exactly as written.
func mergeJSON(base, patch []byte) (json.RawMessage, error) {
	into, err := decodeObject(base)
	if err != nil {
		return nil, fmt.Errorf("merge base: %w", err)
	}
	from, err := decodeObject(patch)
	if err != nil {
		return nil, fmt.Errorf("merge patch: %w", err)
	}
	mergeObjects(into, from)
	return json.Marshal(into)
}

func decodeObject(b []byte) (map[string]any, error) {
	out := map[string]any{}
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func mergeObjects(into, from map[string]any) {
	for k, v := range from {
		old, exists := into[k]
		switch v := v.(type) {
		case nil:
			if _, isArray := old.([]any); isArray || !exists {
				into[k] = nil
			}
		case map[string]any:
			if oldObj, ok := old.(map[string]any); ok {
				mergeObjects(oldObj, v)
			} else {
				into[k] = v
			}
		default:
			into[k] = v
		}
	}
}
