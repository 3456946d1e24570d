package core

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/security"
)

// Collection types.
const (
	CollectionBase = "base"
	CollectionAuth = "auth"
	CollectionView = "view"
)

// Collection is a collection definition: a row of _collections and, for
// base and auth collections, the table that holds its records.
type Collection struct {
	ID         string
	Name       string
	Type       string
	System     bool
	Fields     []*Field
	Indexes    []string
	ListRule   *string
	ViewRule   *string
	CreateRule *string
	UpdateRule *string
	DeleteRule *string
	Created    string
	Updated    string

	// Auth holds the options of auth collections; nil otherwise.
	Auth *AuthOptions
	// ViewQuery is the SELECT of a view collection.
	ViewQuery string
	// ViewRestricted marks a view whose query was last set by a caller
	// who is not a superuser: the database confines it to user
	// collections and ordinary functions (docs/security.md). It is kept
	// with the definition and not shown by the API.
	ViewRestricted bool
}

// AuthOptions are the options of an auth collection, PocketBase's keys.
// Parts that later features own are kept as raw JSON and round-tripped.
type AuthOptions struct {
	AuthRule                   *string             `json:"authRule"`
	ManageRule                 *string             `json:"manageRule"`
	AuthAlert                  json.RawMessage     `json:"authAlert,omitempty"`
	OAuth2                     OAuth2Options       `json:"oauth2"`
	PasswordAuth               PasswordAuthOptions `json:"passwordAuth"`
	MFA                        json.RawMessage     `json:"mfa,omitempty"`
	OTP                        json.RawMessage     `json:"otp,omitempty"`
	AuthToken                  TokenConfig         `json:"authToken"`
	PasswordResetToken         TokenConfig         `json:"passwordResetToken"`
	EmailChangeToken           TokenConfig         `json:"emailChangeToken"`
	VerificationToken          TokenConfig         `json:"verificationToken"`
	FileToken                  TokenConfig         `json:"fileToken"`
	VerificationTemplate       json.RawMessage     `json:"verificationTemplate,omitempty"`
	ResetPasswordTemplate      json.RawMessage     `json:"resetPasswordTemplate,omitempty"`
	ConfirmEmailChangeTemplate json.RawMessage     `json:"confirmEmailChangeTemplate,omitempty"`
}

// PasswordAuthOptions configure sign-in with a password.
type PasswordAuthOptions struct {
	Enabled        bool     `json:"enabled"`
	IdentityFields []string `json:"identityFields"`
}

// TokenConfig is one token type's lifetime and signing secret.
type TokenConfig struct {
	Duration int64  `json:"duration"`
	Secret   string `json:"secret,omitempty"`
}

// IsAuth reports whether c is an auth collection.
func (c *Collection) IsAuth() bool { return c.Type == CollectionAuth }

// IsView reports whether c is a view collection.
func (c *Collection) IsView() bool { return c.Type == CollectionView }

// Field returns the field called name (case-insensitive), or nil.
func (c *Collection) Field(name string) *Field { return fieldByName(c.Fields, name) }

// Rule returns the rule of an action: list, view, create, update, delete.
func (c *Collection) Rule(action string) *string {
	switch action {
	case "list":
		return c.ListRule
	case "view":
		return c.ViewRule
	case "create":
		return c.CreateRule
	case "update":
		return c.UpdateRule
	case "delete":
		return c.DeleteRule
	}
	return nil
}

// DefaultCollectionID returns PocketBase's id for a new collection.
func DefaultCollectionID(typ, name string) string {
	return fmt.Sprintf("pbc_%d", crc32.ChecksumIEEE([]byte(typ+name)))
}

// collectionJSON is the wire shape without the type-specific options.
type collectionJSON struct {
	ID         string   `json:"id"`
	ListRule   *string  `json:"listRule"`
	ViewRule   *string  `json:"viewRule"`
	CreateRule *string  `json:"createRule"`
	UpdateRule *string  `json:"updateRule"`
	DeleteRule *string  `json:"deleteRule"`
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Fields     []*Field `json:"fields"`
	Indexes    []string `json:"indexes"`
	Created    string   `json:"created"`
	Updated    string   `json:"updated"`
	System     bool     `json:"system"`
}

// MarshalJSON writes the collection as PocketBase's API does: auth and view
// options flattened into the object, token and OAuth2 client secrets left
// out.
func (c *Collection) MarshalJSON() ([]byte, error) {
	base := collectionJSON{
		ID: c.ID, ListRule: c.ListRule, ViewRule: c.ViewRule, CreateRule: c.CreateRule,
		UpdateRule: c.UpdateRule, DeleteRule: c.DeleteRule, Name: c.Name, Type: c.Type,
		Fields: c.Fields, Indexes: c.Indexes, Created: c.Created, Updated: c.Updated, System: c.System,
	}
	if base.Fields == nil {
		base.Fields = []*Field{}
	}
	if base.Indexes == nil {
		base.Indexes = []string{}
	}
	out, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	var extra any
	switch {
	case c.Auth != nil:
		public := *c.Auth
		for _, t := range []*TokenConfig{&public.AuthToken, &public.PasswordResetToken, &public.EmailChangeToken, &public.VerificationToken, &public.FileToken} {
			t.Secret = ""
		}
		public.OAuth2 = public.OAuth2.public()
		extra = public
	case c.IsView():
		extra = map[string]string{"viewQuery": c.ViewQuery}
	default:
		return out, nil
	}
	more, err := json.Marshal(extra)
	if err != nil {
		return nil, err
	}
	if len(more) <= 2 {
		return out, nil
	}
	return append(append(out[:len(out)-1], ','), more[1:]...), nil
}

// CollectionInput is a collection as clients send it: every key optional,
// so that an update changes only what it names. The auth options (the
// keys from AuthRule on) apply to auth collections only.
type CollectionInput struct {
	ID         *string      `json:"id"`
	Name       *string      `json:"name"`
	Type       *string      `json:"type"`
	Fields     *[]*Field    `json:"fields"`
	Indexes    *[]string    `json:"indexes"`
	ListRule   optionalRule `json:"listRule"`
	ViewRule   optionalRule `json:"viewRule"`
	CreateRule optionalRule `json:"createRule"`
	UpdateRule optionalRule `json:"updateRule"`
	DeleteRule optionalRule `json:"deleteRule"`
	ViewQuery  *string      `json:"viewQuery"`

	AuthRule                   optionalRule        `json:"authRule"`
	ManageRule                 optionalRule        `json:"manageRule"`
	Passwords                  *PasswordAuthInput  `json:"passwordAuth"`
	MFA                        *MFAInput           `json:"mfa"`
	OTP                        *OTPInput           `json:"otp"`
	AuthAlert                  *AuthAlertInput     `json:"authAlert"`
	OAuth2                     *OAuth2Input        `json:"oauth2"`
	AuthToken                  *TokenInput         `json:"authToken"`
	PasswordResetToken         *TokenInput         `json:"passwordResetToken"`
	EmailChangeToken           *TokenInput         `json:"emailChangeToken"`
	VerificationToken          *TokenInput         `json:"verificationToken"`
	FileToken                  *TokenInput         `json:"fileToken"`
	VerificationTemplate       *EmailTemplateInput `json:"verificationTemplate"`
	ResetPasswordTemplate      *EmailTemplateInput `json:"resetPasswordTemplate"`
	ConfirmEmailChangeTemplate *EmailTemplateInput `json:"confirmEmailChangeTemplate"`
}

// optionalRule tells a rule left out (unchanged) from one set to null
// (superusers only).
type optionalRule struct {
	Set   bool
	Value *string
}

func (r *optionalRule) UnmarshalJSON(b []byte) error {
	r.Set = true
	if string(b) == "null" {
		r.Value = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	r.Value = &s
	return nil
}

// apply copies the input's set values onto c.
func (in *CollectionInput) apply(c *Collection) {
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Fields != nil {
		c.Fields = *in.Fields
	}
	if in.Indexes != nil {
		c.Indexes = *in.Indexes
	}
	for _, r := range []struct {
		in  optionalRule
		dst **string
	}{
		{in.ListRule, &c.ListRule}, {in.ViewRule, &c.ViewRule}, {in.CreateRule, &c.CreateRule},
		{in.UpdateRule, &c.UpdateRule}, {in.DeleteRule, &c.DeleteRule},
	} {
		if r.in.Set {
			*r.dst = r.in.Value
		}
	}
	if in.ViewQuery != nil {
		c.ViewQuery = *in.ViewQuery
	}
	if c.Auth != nil {
		in.applyAuth(c.Auth)
	}
}

// newAuthOptions returns the options of a new auth collection, with fresh
// secrets and PocketBase's default durations.
func newAuthOptions() *AuthOptions {
	token := func(d int64) TokenConfig {
		return TokenConfig{Duration: d, Secret: security.RandomString(50, security.SecretAlphabet)}
	}
	empty := ""
	return &AuthOptions{
		AuthRule:           &empty,
		PasswordAuth:       PasswordAuthOptions{Enabled: true, IdentityFields: []string{"email"}},
		AuthToken:          token(604800),
		PasswordResetToken: token(1800),
		EmailChangeToken:   token(1800),
		VerificationToken:  token(259200),
		FileToken:          token(180),
	}
}

// systemFields returns the fields every collection of typ starts with.
func systemFields(typ string) []*Field {
	id := &Field{ID: DefaultFieldID(FieldText, "id"), Name: "id", Type: FieldText, System: true, Required: true,
		Options: FieldOptions{Min: Float(15), Max: Float(15), Pattern: "^[a-z0-9]+$", AutogeneratePattern: "[a-z0-9]{15}", PrimaryKey: true}}
	if typ != CollectionAuth {
		return []*Field{id}
	}
	return []*Field{
		id,
		{ID: DefaultFieldID(FieldPassword, "password"), Name: "password", Type: FieldPassword, System: true, Hidden: true, Required: true,
			Options: FieldOptions{Min: Float(8)}},
		{ID: DefaultFieldID(FieldText, "tokenKey"), Name: "tokenKey", Type: FieldText, System: true, Hidden: true, Required: true,
			Options: FieldOptions{Min: Float(30), Max: Float(60), AutogeneratePattern: "[a-zA-Z0-9]{50}"}},
		{ID: DefaultFieldID(FieldEmail, "email"), Name: "email", Type: FieldEmail, System: true, Required: true},
		{ID: DefaultFieldID(FieldBool, "emailVisibility"), Name: "emailVisibility", Type: FieldBool, System: true},
		{ID: DefaultFieldID(FieldBool, "verified"), Name: "verified", Type: FieldBool, System: true},
	}
}

// withAuthIndexes returns c's indexes plus those of authIndexes it lacks
// (by name).
func withAuthIndexes(c *Collection) []string {
	out := slices.Clone(c.Indexes)
	for _, want := range authIndexes(c) {
		wi, _ := ParseIndex(want)
		if !slices.ContainsFunc(out, func(sql string) bool {
			idx, err := ParseIndex(sql)
			return err == nil && strings.EqualFold(idx.Name, wi.Name)
		}) {
			out = append(out, want)
		}
	}
	return out
}

// authIndexes are the unique indexes every auth collection has.
func authIndexes(c *Collection) []string {
	return []string{
		fmt.Sprintf("CREATE UNIQUE INDEX `idx_tokenKey_%s` ON `%s` (`tokenKey`)", c.ID, c.Name),
		fmt.Sprintf("CREATE UNIQUE INDEX `idx_email_%s` ON `%s` (`email`) WHERE `email` != ''", c.ID, c.Name),
	}
}
