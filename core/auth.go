package core

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hatchgrid/hatchgrid/core/security"
	"golang.org/x/crypto/bcrypt"
)

// Token types, PocketBase's.
const (
	TokenTypeAuth          = "auth"
	TokenTypeFile          = "file"
	TokenTypeVerification  = "verification"
	TokenTypePasswordReset = "passwordReset"
	TokenTypeEmailChange   = "emailChange"
)

// ErrInvalidToken is the cause of every token rejection; callers see
// guests (public routes) or 401s, never why.
var ErrInvalidToken = errors.New("invalid token")

// AuthService signs records of auth collections in, and issues and checks
// their tokens. Every token is an HS256 JWT signed with the record's
// tokenKey followed by the collection's secret for that token type, so
// rotating either (a password change rotates the tokenKey) revokes it.
type AuthService struct {
	app *App
}

// Auth returns the auth service.
func (a *App) Auth() *AuthService { return &AuthService{app: a} }

// tokenConfig returns the duration and secret of a token type.
func tokenConfig(c *Collection, typ string) (TokenConfig, error) {
	if c == nil || c.Auth == nil {
		return TokenConfig{}, fmt.Errorf("%s is not an auth collection", c.Name)
	}
	var cfg TokenConfig
	switch typ {
	case TokenTypeAuth:
		cfg = c.Auth.AuthToken
	case TokenTypeFile:
		cfg = c.Auth.FileToken
	case TokenTypeVerification:
		cfg = c.Auth.VerificationToken
	case TokenTypePasswordReset:
		cfg = c.Auth.PasswordResetToken
	case TokenTypeEmailChange:
		cfg = c.Auth.EmailChangeToken
	default:
		return TokenConfig{}, fmt.Errorf("unknown token type %q", typ)
	}
	if len(cfg.Secret) < 30 || cfg.Duration <= 0 {
		return TokenConfig{}, fmt.Errorf("collection %s: invalid %s token settings", c.Name, typ)
	}
	return cfg, nil
}

// NewToken issues a token of typ for rec, valid for d (the collection's
// duration for typ when d is 0), with extra claims added.
func (s *AuthService) NewToken(rec *Record, typ string, d time.Duration, extra map[string]any) (string, error) {
	cfg, err := tokenConfig(rec.collection, typ)
	if err != nil {
		return "", err
	}
	if d <= 0 {
		d = time.Duration(cfg.Duration) * time.Second
	}
	claims := jwt.MapClaims{
		"id":           rec.ID(),
		"type":         typ,
		"collectionId": rec.collection.ID,
		"exp":          s.app.Now().Add(d).Unix(),
	}
	for k, v := range extra {
		claims[k] = v
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(rec.GetString("tokenKey") + cfg.Secret))
}

// NewAuthToken issues a refreshable auth token for rec.
func (s *AuthService) NewAuthToken(rec *Record) (string, error) {
	return s.NewToken(rec, TokenTypeAuth, 0, map[string]any{"refreshable": true})
}

// NewStaticAuthToken issues a non-refreshable auth token valid for d.
func (s *AuthService) NewStaticAuthToken(rec *Record, d time.Duration) (string, error) {
	return s.NewToken(rec, TokenTypeAuth, d, map[string]any{"refreshable": false})
}

// ParseToken checks a token of typ and returns its record and claims.
// Tokens of another type, signed with another algorithm or key, expired,
// of a deleted record or (for email tokens) of an email the record no
// longer has are all ErrInvalidToken.
func (s *AuthService) ParseToken(ctx context.Context, token, typ string) (*Record, jwt.MapClaims, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, nil, ErrInvalidToken
	}
	unverified := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, unverified); err != nil {
		return nil, nil, ErrInvalidToken
	}
	id, _ := unverified["id"].(string)
	colID, _ := unverified["collectionId"].(string)
	if got, _ := unverified["type"].(string); got != typ || id == "" || colID == "" {
		return nil, nil, ErrInvalidToken
	}
	c, err := s.app.collections.Find(colID)
	if err != nil || !c.IsAuth() || c.ID != colID {
		return nil, nil, ErrInvalidToken
	}
	cfg, err := tokenConfig(c, typ)
	if err != nil {
		return nil, nil, err
	}
	rec, err := s.app.Records().Find(ctx, c, id)
	if ErrorCodeOf(err) == CodeNotFound {
		return nil, nil, ErrInvalidToken
	}
	if err != nil {
		return nil, nil, err
	}
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.app.Now),
	)
	_, err = parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		return []byte(rec.GetString("tokenKey") + cfg.Secret), nil
	})
	if err != nil || claims["id"] != rec.ID() || claims["type"] != typ {
		return nil, nil, ErrInvalidToken
	}
	if email, ok := claims["email"].(string); ok && !strings.EqualFold(email, rec.GetString("email")) {
		return nil, nil, ErrInvalidToken
	}
	return rec, claims, nil
}

// FindByAuthToken returns the record an auth token belongs to and whether
// the token may be refreshed.
func (s *AuthService) FindByAuthToken(ctx context.Context, token string) (*Record, bool, error) {
	rec, claims, err := s.ParseToken(ctx, token, TokenTypeAuth)
	if err != nil {
		return nil, false, err
	}
	refreshable, _ := claims["refreshable"].(bool)
	return rec, refreshable, nil
}

// AuthWithPassword finds the record of c whose identity field holds
// identity and checks password. identityField, when set, must be one of
// the collection's identity fields. Every failure, an unknown identity
// included, is the same 400, so accounts cannot be probed; an unknown
// identity still spends a bcrypt comparison.
func (s *AuthService) AuthWithPassword(ctx context.Context, c *Collection, identity, password, identityField string) (*Record, error) {
	if !c.IsAuth() {
		return nil, Errorf(CodeNotFound, "Missing or invalid auth collection context.")
	}
	if !c.Auth.PasswordAuth.Enabled {
		return nil, Errorf(CodeForbidden, "The collection is not configured to allow password authentication.")
	}
	fields := map[string]FieldError{}
	if strings.TrimSpace(identity) == "" {
		fields["identity"] = Required()
	}
	if password == "" {
		fields["password"] = Required()
	}
	if identityField != "" && !slices.Contains(c.Auth.PasswordAuth.IdentityFields, identityField) {
		fields["identityField"] = FieldError{Code: "validation_in_invalid", Message: "Must be a valid value."}
	}
	if len(fields) > 0 {
		return nil, Invalid("An error occurred while validating the submitted data.", fields)
	}

	rec, err := s.findByIdentity(ctx, c, identity, identityField)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		bcrypt.CompareHashAndPassword([]byte(s.app.dummyHash()), []byte(password))
		return nil, Errorf(CodeInvalid, "Failed to authenticate.")
	}
	if !ValidatePassword(rec, password) {
		return nil, Errorf(CodeInvalid, "Failed to authenticate.")
	}
	return rec, nil
}

// identityKey is the value findByIdentity compares with LOWER(field): the
// identity without NUL bytes or invalid UTF-8 (which the database could
// not store), lower-cased. The brute-force guard counts failures under it
// too; any other normalisation in one and not the other would let
// variants of one identity escape the guard.
func identityKey(identity string) string { return strings.ToLower(cleanText(identity)) }

// findByIdentity looks identity up in the identity fields: email first
// when it looks like an address, each field case-insensitively.
func (s *AuthService) findByIdentity(ctx context.Context, c *Collection, identity, only string) (*Record, error) {
	candidates := c.Auth.PasswordAuth.IdentityFields
	if only != "" {
		candidates = []string{only}
	}
	if _, err := mail.ParseAddress(identity); err == nil && slices.Contains(candidates, "email") {
		candidates = append([]string{"email"}, slices.DeleteFunc(slices.Clone(candidates), func(f string) bool { return f == "email" })...)
	}
	for _, name := range candidates {
		f := c.Field(name)
		if f == nil {
			continue
		}
		recs, err := s.app.Records().query(ctx, c, "LOWER("+quote(c.Name)+"."+quote(f.Name)+") = ?", []any{identityKey(identity)}, " LIMIT 2")
		if err != nil {
			return nil, err
		}
		if len(recs) == 1 {
			return recs[0], nil
		}
	}
	return nil, nil
}

// ValidatePassword reports whether password is the auth record's password.
func ValidatePassword(rec *Record, password string) bool {
	hash := rec.GetString("password")
	if hash == "" || password == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// newDummyHash returns what computes, once and on first use, a bcrypt
// hash at cost to compare against when an identity or OTP id is unknown,
// so that it costs what a known one does.
func newDummyHash(cost int) func() string {
	return sync.OnceValue(func() string {
		h, _ := bcrypt.GenerateFromPassword([]byte("hatchgrid-timing-equaliser"), cost)
		return string(h)
	})
}

// hashPassword returns the bcrypt hash of password at cost and a fresh
// token key.
func hashPassword(password string, cost int) (hash, tokenKey string, err error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", "", err
	}
	return string(h), security.RandomString(50, security.SecretAlphabet), nil
}
