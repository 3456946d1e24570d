package core

import "encoding/json"

// The auth options as clients send them in a collection's create, update
// or import body. Every key is optional: one left out (or null) keeps its
// value, so that a partial object changes only what it names, as it does
// in PocketBase, which decodes the body over the stored collection.

// PasswordAuthInput is the "passwordAuth" options as clients send them.
type PasswordAuthInput struct {
	Enabled        *bool     `json:"enabled"`
	IdentityFields *[]string `json:"identityFields"`
}

// TokenInput is one token type's options as clients send them: its
// duration in seconds and, to rotate the type's signing secret, a new
// secret of 30 to 255 characters. Every token of the type issued before
// the rotation stops working, PocketBase's "invalidate all previously
// issued tokens"; the other types' tokens are unaffected. A secret left
// out or empty keeps the stored one: the API never shows secrets, so
// clients cannot send them back.
type TokenInput struct {
	Duration *int64  `json:"duration"`
	Secret   *string `json:"secret"`
}

// EmailTemplateInput is an email template as clients send it; a key left
// out keeps the current subject or body (the built-in one while the
// collection has none of its own).
type EmailTemplateInput struct {
	Subject *string `json:"subject,omitempty"`
	Body    *string `json:"body,omitempty"`
}

// OTPInput is the "otp" options as clients send them.
type OTPInput struct {
	Enabled       *bool               `json:"enabled,omitempty"`
	Duration      *int64              `json:"duration,omitempty"`
	Length        *int                `json:"length,omitempty"`
	EmailTemplate *EmailTemplateInput `json:"emailTemplate,omitempty"`
}

// MFAInput is the "mfa" options as clients send them.
type MFAInput struct {
	Enabled  *bool   `json:"enabled,omitempty"`
	Duration *int64  `json:"duration,omitempty"`
	Rule     *string `json:"rule,omitempty"`
}

// AuthAlertInput is the "authAlert" options as clients send them.
type AuthAlertInput struct {
	Enabled       *bool               `json:"enabled,omitempty"`
	EmailTemplate *EmailTemplateInput `json:"emailTemplate,omitempty"`
}

// applyAuth copies the input's set auth options onto a. Nothing here is
// validated: validateAuthOptions checks the result.
func (in *CollectionInput) applyAuth(a *AuthOptions) {
	if in.AuthRule.Set {
		a.AuthRule = in.AuthRule.Value
	}
	if in.ManageRule.Set {
		a.ManageRule = in.ManageRule.Value
	}
	if p := in.Passwords; p != nil {
		if p.Enabled != nil {
			a.PasswordAuth.Enabled = *p.Enabled
		}
		if p.IdentityFields != nil {
			a.PasswordAuth.IdentityFields = *p.IdentityFields
		}
	}
	if in.OAuth2 != nil {
		a.OAuth2 = a.OAuth2.withInput(*in.OAuth2)
	}
	in.applyTokens(a)
	in.applyTemplates(a)
	if in.MFA != nil {
		a.MFA = patchRaw(a.MFA, in.MFA)
	}
}

// applyTokens copies the input's set token durations and secrets onto a.
func (in *CollectionInput) applyTokens(a *AuthOptions) {
	for _, t := range []struct {
		in  *TokenInput
		dst *TokenConfig
	}{
		{in.AuthToken, &a.AuthToken}, {in.PasswordResetToken, &a.PasswordResetToken},
		{in.EmailChangeToken, &a.EmailChangeToken}, {in.VerificationToken, &a.VerificationToken},
		{in.FileToken, &a.FileToken},
	} {
		if t.in == nil {
			continue
		}
		if t.in.Duration != nil {
			t.dst.Duration = *t.in.Duration
		}
		if t.in.Secret != nil && *t.in.Secret != "" {
			t.dst.Secret = *t.in.Secret
		}
	}
}

// applyTemplates copies the input's set email templates onto a, with the
// otp and authAlert options that hold two of them. A template sent in part
// is completed from the current one, so that it is stored whole.
func (in *CollectionInput) applyTemplates(a *AuthOptions) {
	for _, t := range []struct {
		in   *EmailTemplateInput
		kind AuthEmail
		dst  *json.RawMessage
	}{
		{in.VerificationTemplate, AuthEmailVerification, &a.VerificationTemplate},
		{in.ResetPasswordTemplate, AuthEmailPasswordReset, &a.ResetPasswordTemplate},
		{in.ConfirmEmailChangeTemplate, AuthEmailEmailChange, &a.ConfirmEmailChangeTemplate},
	} {
		if t.in != nil {
			*t.dst, _ = json.Marshal(t.in.over(a.currentTemplate(t.kind)))
		}
	}
	if in.OTP != nil {
		otp := *in.OTP
		otp.EmailTemplate = otp.EmailTemplate.full(a.currentTemplate(AuthEmailOTP))
		a.OTP = patchRaw(a.OTP, otp)
	}
	if in.AuthAlert != nil {
		alert := *in.AuthAlert
		alert.EmailTemplate = alert.EmailTemplate.full(a.currentTemplate(AuthEmailLoginAlert))
		a.AuthAlert = patchRaw(a.AuthAlert, alert)
	}
}

// currentTemplate is the template the collection sends for kind now: its
// own, or the built-in one for what it lacks (or cannot be read).
func (o *AuthOptions) currentTemplate(kind AuthEmail) EmailTemplate {
	t, err := o.EmailTemplate(kind)
	if err != nil {
		t, _ = DefaultEmailTemplate(kind)
	}
	return t
}

// over returns cur with the subject and body t sets.
func (t *EmailTemplateInput) over(cur EmailTemplate) EmailTemplate {
	if t.Subject != nil {
		cur.Subject = *t.Subject
	}
	if t.Body != nil {
		cur.Body = *t.Body
	}
	return cur
}

// full returns t with what it leaves out taken from cur, so that a nested
// template is stored whole; nil stays nil.
func (t *EmailTemplateInput) full(cur EmailTemplate) *EmailTemplateInput {
	if t == nil {
		return nil
	}
	merged := t.over(cur)
	return &EmailTemplateInput{Subject: &merged.Subject, Body: &merged.Body}
}

// patchRaw returns the stored options object base with the set keys of
// patch merged over it. Stored options that are not an object are
// replaced.
func patchRaw(base json.RawMessage, patch any) json.RawMessage {
	p, err := json.Marshal(patch)
	if err != nil {
		return base
	}
	if out, err := mergeJSON(base, p); err == nil {
		return out
	}
	return p
}
