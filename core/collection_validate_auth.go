package core

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ganigeorgiev/fexpr"
)

// PocketBase's bounds of the auth options, in seconds where they are
// durations.
const (
	minTokenDuration = 10
	maxTokenDuration = 94670856 // about three years
	minFlowDuration  = 10       // otp and mfa
	maxFlowDuration  = 86400
	minTokenSecret   = 30
	maxTokenSecret   = 255
	minOTPLength     = 4
	// maxOTPLength is Hatchgrid's own bound: OTPs are stored as bcrypt
	// hashes, and bcrypt takes at most 72 bytes.
	maxOTPLength = 72
)

// validateAuthOptions checks an auth collection's options as PocketBase
// does, with its error keys ("otp.duration", "authToken.secret",
// "passwordAuth.identityFields") and codes. Options that a collection
// leaves out of its stored JSON (otp, mfa and authAlert keys, templates)
// take their defaults and are not checked; one that is stored must be
// valid, so a client that sends a bad value gets a 400.
func validateAuthOptions(c *Collection, fail func(key, code, msg string)) {
	a := c.Auth
	// An empty manageRule would mean "anyone manages everyone": PocketBase
	// refuses it, null (superusers only) being the way to say nobody.
	if a.ManageRule != nil && strings.TrimSpace(*a.ManageRule) == "" {
		fail("manageRule", "validation_nil_or_not_empty_required", "Cannot be blank.")
	}
	for key, rule := range map[string]*string{"authRule": a.AuthRule, "manageRule": a.ManageRule} {
		if rule != nil && strings.TrimSpace(*rule) != "" {
			if _, err := fexpr.Parse(*rule); err != nil {
				fail(key, "validation_invalid_rule", "Invalid rule: "+err.Error()+".")
			}
		}
	}
	for _, t := range []struct {
		key string
		cfg TokenConfig
	}{
		{"authToken", a.AuthToken}, {"passwordResetToken", a.PasswordResetToken}, {"emailChangeToken", a.EmailChangeToken},
		{"verificationToken", a.VerificationToken}, {"fileToken", a.FileToken},
	} {
		if n := len(t.cfg.Secret); n < minTokenSecret || n > maxTokenSecret {
			fail(t.key+".secret", "validation_length_out_of_range",
				fmt.Sprintf("The length must be between %d and %d.", minTokenSecret, maxTokenSecret))
		}
		checkRange(fail, t.key+".duration", &t.cfg.Duration, minTokenDuration, maxTokenDuration)
	}
	for key, raw := range map[string]json.RawMessage{
		"verificationTemplate":       a.VerificationTemplate,
		"resetPasswordTemplate":      a.ResetPasswordTemplate,
		"confirmEmailChangeTemplate": a.ConfirmEmailChangeTemplate,
	} {
		if isSet(raw) {
			var t EmailTemplate
			if json.Unmarshal(raw, &t) != nil {
				fail(key, "validation_invalid_value", "Must be an object with a subject and a body.")
				continue
			}
			checkTemplate(fail, key, &t)
		}
	}
	otpEnabled := validateOTP(a.OTP, fail)
	validateMFA(a, otpEnabled, fail)
	if isSet(a.AuthAlert) {
		var alert struct {
			EmailTemplate *EmailTemplate `json:"emailTemplate"`
		}
		if json.Unmarshal(a.AuthAlert, &alert) != nil {
			fail("authAlert", "validation_invalid_value", "Invalid auth alert options.")
		} else {
			checkTemplate(fail, "authAlert.emailTemplate", alert.EmailTemplate)
		}
	}
	validateIdentityFields(c, fail)
}

// validateOTP checks the stored otp options and reports whether OTP is on.
func validateOTP(raw json.RawMessage, fail func(key, code, msg string)) bool {
	if !isSet(raw) {
		return false
	}
	var otp struct {
		Enabled       bool           `json:"enabled"`
		Duration      *int64         `json:"duration"`
		Length        *int           `json:"length"`
		EmailTemplate *EmailTemplate `json:"emailTemplate"`
	}
	if json.Unmarshal(raw, &otp) != nil {
		fail("otp", "validation_invalid_value", "Invalid OTP options.")
		return false
	}
	if otp.Enabled {
		checkRange(fail, "otp.duration", otp.Duration, minFlowDuration, maxFlowDuration)
		if otp.Length != nil {
			n := int64(*otp.Length)
			checkRange(fail, "otp.length", &n, minOTPLength, maxOTPLength)
		}
	}
	checkTemplate(fail, "otp.emailTemplate", otp.EmailTemplate)
	return otp.Enabled
}

// validateMFA checks the stored mfa options: with MFA on, its window, its
// rule's syntax, and that there are two auth methods to combine.
func validateMFA(a *AuthOptions, otpEnabled bool, fail func(key, code, msg string)) {
	if !isSet(a.MFA) {
		return
	}
	var mfa struct {
		Enabled  bool   `json:"enabled"`
		Duration *int64 `json:"duration"`
		Rule     string `json:"rule"`
	}
	if json.Unmarshal(a.MFA, &mfa) != nil {
		fail("mfa", "validation_invalid_value", "Invalid MFA options.")
		return
	}
	if !mfa.Enabled {
		return
	}
	checkRange(fail, "mfa.duration", mfa.Duration, minFlowDuration, maxFlowDuration)
	methods := 0
	for _, on := range []bool{a.PasswordAuth.Enabled, a.OAuth2.Enabled, otpEnabled} {
		if on {
			methods++
		}
	}
	if methods < 2 {
		fail("mfa.enabled", "validation_mfa_not_enough_auths", "MFA requires at least 2 auth methods to be enabled.")
	}
	if strings.TrimSpace(mfa.Rule) != "" {
		if _, err := fexpr.Parse(mfa.Rule); err != nil {
			fail("mfa.rule", "validation_invalid_rule", "Invalid rule: "+err.Error()+".")
		}
	}
}

// validateIdentityFields checks, while password sign-in is on, that there
// are identity fields and that each is a field with a single-column
// unique index, so that an identity finds one record at most.
func validateIdentityFields(c *Collection, fail func(key, code, msg string)) {
	pa := c.Auth.PasswordAuth
	if !pa.Enabled {
		return
	}
	const key = "passwordAuth.identityFields"
	if len(pa.IdentityFields) == 0 {
		fail(key, "validation_required", "Cannot be blank.")
		return
	}
	for _, name := range pa.IdentityFields {
		if c.Field(name) == nil {
			fail(key, "validation_missing_field", fmt.Sprintf("Invalid or missing field %s.", name))
			return
		}
		if !hasUniqueIndex(c, name) {
			fail(key, "validation_missing_unique_constraint", fmt.Sprintf("The field %s doesn't have a UNIQUE constraint.", name))
			return
		}
	}
}

// hasUniqueIndex reports whether one of c's indexes is a unique index of
// the single column name (partial indexes included).
func hasUniqueIndex(c *Collection, name string) bool {
	for _, sql := range c.Indexes {
		idx, err := ParseIndex(sql)
		if err == nil && idx.Unique && len(idx.Columns) == 1 && strings.EqualFold(idx.Columns[0].Name, name) {
			return true
		}
	}
	return false
}

// checkRange fails key when the value is 0 (required) or out of
// [min, max]. A nil value is left out and takes its default.
func checkRange(fail func(key, code, msg string), key string, v *int64, min, max int64) {
	switch {
	case v == nil:
	case *v == 0:
		fail(key, "validation_required", "Cannot be blank.")
	case *v < min:
		fail(key, "validation_min_greater_equal_than_required", fmt.Sprintf("Must be no less than %d.", min))
	case *v > max:
		fail(key, "validation_max_less_equal_than_required", fmt.Sprintf("Must be no greater than %d.", max))
	}
}

// checkTemplate fails a stored template without a subject or a body.
func checkTemplate(fail func(key, code, msg string), key string, t *EmailTemplate) {
	if t == nil {
		return
	}
	if strings.TrimSpace(t.Subject) == "" {
		fail(key+".subject", "validation_required", "Cannot be blank.")
	}
	if strings.TrimSpace(t.Body) == "" {
		fail(key+".body", "validation_required", "Cannot be blank.")
	}
}

func isSet(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}
