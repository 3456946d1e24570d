package authz

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Subjects every policy may name besides roles and records.
const (
	// Everyone is the subject of policies that apply to every caller,
	// guests included.
	Everyone = "*"
	// Guest is the subject of callers who are not signed in.
	Guest = "guest"
)

// The admin resources, each guarding a part of the admin API; their
// actions are ActionRead and ActionWrite.
const (
	AdminSchema   = "admin:schema"   // collections: definitions, rules, import, truncate
	AdminSettings = "admin:settings" // run-time settings
	AdminLogs     = "admin:logs"     // request logs
	AdminJobs     = "admin:jobs"     // background jobs
	AdminPolicies = "admin:policies" // roles and policies
)

// Actions on admin resources.
const (
	ActionRead  = "read"
	ActionWrite = "write"
)

// Effects of a policy.
const (
	EffectAllow = "allow"
	EffectDeny  = "deny"
)

const (
	rolePrefix       = "role:"
	recordPrefix     = "record:"
	collectionPrefix = "collection:"
	adminPrefix      = "admin:"
)

// CollectionActions are the actions on a collection's records, named after
// its API rules.
var CollectionActions = []string{"list", "view", "create", "update", "delete"}

var (
	roleNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
	// A resource is kind:name, where name may end in * to match every name
	// with that prefix (keyMatch looks no further than the first *).
	resourcePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*:([A-Za-z0-9_.-]+\*?|\*)$`)
	actionPattern   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// RoleSubject returns the subject of the role called name.
func RoleSubject(name string) string { return rolePrefix + name }

// RoleName returns the name of a role subject; ok is false for other
// subjects.
func RoleName(subject string) (name string, ok bool) {
	return strings.CutPrefix(subject, rolePrefix)
}

// RecordSubject returns the subject of the auth record id of the collection
// collectionID.
func RecordSubject(collectionID, id string) string {
	return recordPrefix + collectionID + "/" + id
}

// ParseRecord splits a record subject into its collection id and record
// id; ok is false for other subjects.
func ParseRecord(subject string) (collectionID, id string, ok bool) {
	rest, ok := strings.CutPrefix(subject, recordPrefix)
	if !ok {
		return "", "", false
	}
	collectionID, id, ok = strings.Cut(rest, "/")
	return collectionID, id, ok
}

// CollectionResource returns the resource of the records of the collection called
// name.
func CollectionResource(name string) string { return collectionPrefix + name }

// Errors of the policy and role operations.
var (
	ErrNotFound = errors.New("authz: not found")
	ErrExists   = errors.New("authz: already exists")
)

// InvalidError reports a value that a policy or role cannot have.
type InvalidError struct {
	Field   string // subject, resource, action, effect, name, inherits, members
	Message string // a user-facing sentence
}

func (e *InvalidError) Error() string { return "authz: invalid " + e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidRoleName reports whether name can name a role.
func ValidRoleName(name string) bool { return roleNamePattern.MatchString(name) }

// validSubject checks a policy or membership subject.
func validSubject(field, s string, allowEveryone bool) error {
	switch {
	case s == Everyone && allowEveryone, s == Guest:
		return nil
	case strings.HasPrefix(s, rolePrefix):
		if name, _ := RoleName(s); ValidRoleName(name) {
			return nil
		}
	case strings.HasPrefix(s, recordPrefix):
		if col, id, ok := ParseRecord(s); ok && idPattern.MatchString(col) && idPattern.MatchString(id) {
			return nil
		}
	}
	want := `"guest", "role:<name>" or "record:<collectionId>/<recordId>"`
	if allowEveryone {
		want = `"*", ` + want
	}
	return invalid(field, "Must be %s.", want)
}

// Validate checks p and fills in its default effect, allow.
func (p *Policy) Validate() error {
	p.Subject = strings.TrimSpace(p.Subject)
	p.Resource = strings.TrimSpace(p.Resource)
	p.Action = strings.TrimSpace(p.Action)
	p.Effect = strings.ToLower(strings.TrimSpace(p.Effect))
	if p.Effect == "" {
		p.Effect = EffectAllow
	}
	if err := validSubject("subject", p.Subject, true); err != nil {
		return err
	}
	if p.Resource != "*" && !resourcePattern.MatchString(p.Resource) {
		return invalid("resource", `Must be "*" or "<kind>:<name>", e.g. "collection:posts", "collection:*" or "admin:schema"; a * may only end it.`)
	}
	if err := validAction(p.Resource, p.Action); err != nil {
		return err
	}
	if p.Effect != EffectAllow && p.Effect != EffectDeny {
		return invalid("effect", `Must be "allow" or "deny".`)
	}
	return nil
}

func validAction(resource, action string) error {
	if action == "*" {
		return nil
	}
	var allowed []string
	switch {
	case strings.HasPrefix(resource, collectionPrefix):
		allowed = CollectionActions
	case strings.HasPrefix(resource, adminPrefix):
		allowed = []string{ActionRead, ActionWrite}
	case resource == "*":
		allowed = append(slices.Clone(CollectionActions), ActionRead, ActionWrite)
	default:
		if actionPattern.MatchString(action) {
			return nil
		}
		return invalid("action", "Must be a lowercase word or *.")
	}
	if !slices.Contains(allowed, action) {
		return invalid("action", "Must be one of %s or * for this resource.", strings.Join(allowed, ", "))
	}
	return nil
}
