package audit

import (
	"reflect"
	"testing"
)

func TestDiffKeepsOnlyChangedKeysAndRedactsSecrets(t *testing.T) {
	t.Parallel()
	before := map[string]any{
		"name": "posts", "rule": nil,
		"smtp":   map[string]any{"host": "a", "password": "old", "port": 25},
		"fields": []any{map[string]any{"name": "title", "max": 10}, map[string]any{"name": "body"}},
		"tags":   []any{"a", "b"},
		"apiKey": "k1",
	}
	after := map[string]any{
		"name": "posts", "rule": "",
		"smtp":   map[string]any{"host": "b", "password": "new", "port": 25},
		"fields": []any{map[string]any{"name": "title", "max": 20}, map[string]any{"name": "body"}},
		"tags":   []any{"a"},
		"token":  "t",
	}
	got, err := diff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := Diff{
		"rule":             {Before: nil, After: ""},
		"smtp.host":        {Before: "a", After: "b"},
		"smtp.password":    {Before: Redacted, After: Redacted},
		"fields.title.max": {Before: float64(10), After: float64(20)},
		"tags":             {Before: []any{"a", "b"}, After: []any{"a"}},
		"apiKey":           {Before: Redacted, After: nil},
		"token":            {Before: nil, After: Redacted},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff =\n%#v\nwant\n%#v", got, want)
	}
}

func TestIsSecret(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		"smtp.password": true, "s3.secret": true, "tokenKey": true, "passwordConfirm": true,
		"oauth2.providers.google.clientSecret": true, "token": true, "authToken.duration": false,
		"email": false, "s3.accessKey": false, "name": false,
	} {
		if got := isSecret(path); got != want {
			t.Errorf("isSecret(%q) = %v, want %v", path, got, want)
		}
	}
}
