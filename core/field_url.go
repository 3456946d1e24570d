package core

import (
	"context"
	"net/url"
)

// FieldURL is the type of URL fields.
const FieldURL = "url"

type urlKind struct{ FieldKindBase }

func (urlKind) Type() string { return FieldURL }

func (urlKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "exceptDomains", "onlyDomains")
}

func (urlKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	u, err := url.Parse(v.(string))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fe("validation_is_url", "Must be a valid url.")
	}
	return checkDomain(u.Hostname(), f.Options)
}
