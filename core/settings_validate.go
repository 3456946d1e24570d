package core

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	dnsNamePattern        = regexp.MustCompile(`^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$`)
	rateLimitLabelPattern = regexp.MustCompile(`^(\w+ /[\w/-]*|/[\w/-]*|\w+:\w+|\*:\w+|\w+)$`)
)

// settingsErrors collects the first problem of each settings field under
// its dotted path, with PocketBase's codes and messages.
type settingsErrors map[string]FieldError

func (e settingsErrors) fail(key, code, format string, args ...any) {
	if _, ok := e[key]; !ok {
		e[key] = FieldError{Code: code, Message: fmt.Sprintf(format, args...)}
	}
}

func (e settingsErrors) required(key string, empty bool) {
	if empty {
		e.fail(key, "validation_required", "Cannot be blank.")
	}
}

// min follows PocketBase's validators, which leave zero values alone.
func (e settingsErrors) min(key string, n, threshold int64) {
	if n != 0 && n < threshold {
		e.fail(key, "validation_min_greater_equal_than_required", "Must be no less than %d.", threshold)
	}
}

func (e settingsErrors) length(key, s string, min, max int) {
	if n := utf8.RuneCountInString(s); s != "" && (n < min || n > max) {
		e.fail(key, "validation_length_out_of_range", "The length must be between %d and %d.", min, max)
	}
}

func (e settingsErrors) in(key, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	if s != "" {
		e.fail(key, "validation_in_invalid", "Must be a valid value.")
	}
}

func (e settingsErrors) url(key, s string) {
	if s == "" {
		return
	}
	if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
		e.fail(key, "validation_is_url", "Must be a valid URL.")
	}
}

func (e settingsErrors) host(key, s string) {
	if s != "" && net.ParseIP(s) == nil && (len(s) > 253 || !dnsNamePattern.MatchString(s)) {
		e.fail(key, "validation_is_host", "Must be a valid IP address or DNS name.")
	}
}

// Validate checks s with PocketBase's rules. It returns a validation Error
// whose field keys are dotted paths, or nil.
func (s Settings) Validate() error {
	e := settingsErrors{}
	e.validateMeta(s.Meta)
	e.min("logs.maxDays", int64(s.Logs.MaxDays), 0)
	e.validateSMTP(s.SMTP)
	e.validateS3("s3", s.S3)
	e.validateBackups(s.Backups)
	e.validateBatch(s.Batch)
	e.validateRateLimits(s.RateLimits)
	if len(e) == 0 {
		return nil
	}
	return Invalid("An error occurred while saving the new settings.", e)
}

func (e settingsErrors) validateMeta(m MetaSettings) {
	e.required("meta.appName", m.AppName == "")
	e.length("meta.appName", m.AppName, 1, 255)
	e.required("meta.appURL", m.AppURL == "")
	e.url("meta.appURL", m.AppURL)
	e.required("meta.senderName", m.SenderName == "")
	e.length("meta.senderName", m.SenderName, 1, 255)
	if addr, err := mail.ParseAddress(m.SenderAddress); m.SenderAddress != "" && (err != nil || addr.Address != m.SenderAddress) {
		e.fail("meta.senderAddress", "validation_is_email", "Must be a valid email address.")
	}
	e.required("meta.senderAddress", m.SenderAddress == "")
}

func (e settingsErrors) validateSMTP(c SMTPSettings) {
	e.required("smtp.host", c.Enabled && c.Host == "")
	e.host("smtp.host", c.Host)
	e.required("smtp.port", c.Enabled && c.Port == 0)
	e.min("smtp.port", int64(c.Port), 0)
	e.in("smtp.authMethod", c.AuthMethod, "LOGIN", "PLAIN")
	e.host("smtp.localName", c.LocalName)
}

func (e settingsErrors) validateS3(prefix string, c S3Settings) {
	e.url(prefix+".endpoint", c.Endpoint)
	e.required(prefix+".endpoint", c.Enabled && c.Endpoint == "")
	e.required(prefix+".bucket", c.Enabled && c.Bucket == "")
	e.required(prefix+".region", c.Enabled && c.Region == "")
	e.required(prefix+".accessKey", c.Enabled && c.AccessKey == "")
	e.required(prefix+".secret", c.Enabled && c.Secret == "")
}

func (e settingsErrors) validateBackups(b BackupsSettings) {
	e.validateS3("backups.s3", b.S3)
	if b.Cron != "" {
		if msg := checkCron(b.Cron); msg != "" {
			e.fail("backups.cron", "validation_invalid_cron", "%s", msg)
		}
	}
	e.required("backups.cronMaxKeep", b.Cron != "" && b.CronMaxKeep == 0)
	e.min("backups.cronMaxKeep", int64(b.CronMaxKeep), 1)
}

func (e settingsErrors) validateBatch(b BatchSettings) {
	e.required("batch.maxRequests", b.Enabled && b.MaxRequests == 0)
	e.min("batch.maxRequests", int64(b.MaxRequests), 0)
	e.required("batch.timeout", b.Enabled && b.Timeout == 0)
	e.min("batch.timeout", b.Timeout, 0)
	e.min("batch.maxBodySize", b.MaxBodySize, 0)
}

func (e settingsErrors) validateRateLimits(r RateLimitsSettings) {
	e.required("rateLimits.rules", r.Enabled && len(r.Rules) == 0)
	// Two rules conflict when one's label and audience are a prefix of the
	// other's; PocketBase reports the first conflict and stops there.
	var seen []string
	for i, rule := range r.Rules {
		key := rule.Label + "@@" + rule.Audience
		for _, other := range seen {
			if strings.HasPrefix(other, key) || strings.HasPrefix(key, other) {
				e.fail("rateLimits.rules."+strconv.Itoa(i)+".label", "validation_conflicting_rate_limit_rule",
					"Rate limit rule configuration with label %s already exists or conflicts with another rule.", rule.Label)
				return
			}
		}
		seen = append(seen, key)
	}
	for i, rule := range r.Rules {
		p := "rateLimits.rules." + strconv.Itoa(i) + "."
		e.required(p+"label", rule.Label == "")
		if rule.Label != "" && !rateLimitLabelPattern.MatchString(rule.Label) {
			e.fail(p+"label", "validation_match_invalid", "Must be in a valid format.")
		}
		e.required(p+"maxRequests", rule.MaxRequests == 0)
		e.min(p+"maxRequests", int64(rule.MaxRequests), 1)
		e.required(p+"duration", rule.Duration == 0)
		e.min(p+"duration", rule.Duration, 1)
		e.in(p+"audience", rule.Audience, "@guest", "@auth")
	}
}

// cronRanges are the bounds of the five fields of a cron expression.
var cronRanges = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}

var cronMacros = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// checkCron accepts a five-field cron expression (lists, ranges, steps
// and *) or one of the @ macros; otherwise it returns a user-facing
// message.
func checkCron(expr string) string {
	if cronMacros[expr] {
		return ""
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return fmt.Sprintf("Invalid cron expression: expected 5 segments, got %d.", len(fields))
	}
	for i, f := range fields {
		for _, part := range strings.Split(f, ",") {
			if !cronPartOK(part, cronRanges[i][0], cronRanges[i][1]) {
				return fmt.Sprintf("Invalid cron segment %q.", f)
			}
		}
	}
	return ""
}

func cronPartOK(part string, lo, hi int) bool {
	rng, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		if n, err := strconv.Atoi(step); err != nil || n < 1 {
			return false
		}
	}
	if rng == "*" {
		return true
	}
	from, to, isRange := strings.Cut(rng, "-")
	if !isRange {
		if hasStep {
			return false
		}
		to = from
	}
	a, errA := strconv.Atoi(from)
	b, errB := strconv.Atoi(to)
	return errA == nil && errB == nil && lo <= a && a <= b && b <= hi
}
