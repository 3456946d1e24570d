package core

import (
	"context"
	"net/mail"
	"slices"
	"strings"
)

// FieldEmail is the type of email address fields.
const FieldEmail = "email"

type emailKind struct{ FieldKindBase }

func (emailKind) Type() string { return FieldEmail }

func (emailKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "exceptDomains", "onlyDomains")
}

func (emailKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	str := v.(string)
	if addr, err := mail.ParseAddress(str); err != nil || addr.Address != str {
		return fe("validation_is_email", "Must be a valid email address.")
	}
	return checkDomain(str[strings.LastIndex(str, "@")+1:], f.Options)
}

// checkDomain applies onlyDomains and exceptDomains, of email and url
// fields.
func checkDomain(domain string, o FieldOptions) (FieldError, bool) {
	domain = strings.ToLower(domain)
	if len(o.OnlyDomains) > 0 && !slices.ContainsFunc(o.OnlyDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return fe("validation_email_domain_not_allowed", "Domain %s is not allowed.", domain)
	}
	if slices.ContainsFunc(o.ExceptDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return fe("validation_email_domain_not_allowed", "Domain %s is not allowed.", domain)
	}
	return FieldError{}, true
}
