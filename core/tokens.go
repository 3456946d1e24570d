package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// Token types, PocketBase's.
const (
	TokenTypeAuth = "auth"
)

// tokenConfig is one token type's settings in an auth collection's options.
type tokenConfig struct {
	Duration int64  `json:"duration"` // seconds
	Secret   string `json:"secret"`
}

// authOptions are the parts of an auth collection's options tokens need.
type authOptions struct {
	AuthToken tokenConfig `json:"authToken"`
}

// superuserOptions caches the _superusers collection's auth options.
type superuserOptions struct {
	mu   sync.Mutex
	opts *authOptions
}

func (s *SuperuserService) options(ctx context.Context) (*authOptions, error) {
	s.opts.mu.Lock()
	defer s.opts.mu.Unlock()
	if s.opts.opts != nil {
		return s.opts.opts, nil
	}
	var raw JSONRaw
	err := s.app.ReadDB(ctx).Table("_collections").Select("options").
		Where(`"id" = ?`, migrations.SuperusersCollectionID).Row().Scan(&raw)
	if err != nil {
		return nil, fmt.Errorf("load _superusers options: %w", err)
	}
	var opts authOptions
	if err := json.Unmarshal(raw, &opts); err != nil {
		return nil, fmt.Errorf("decode _superusers options: %w", err)
	}
	if len(opts.AuthToken.Secret) < 30 || opts.AuthToken.Duration <= 0 {
		return nil, errors.New("_superusers options: invalid authToken")
	}
	s.opts.opts = &opts
	return &opts, nil
}

// authClaims are the claims of an auth token, PocketBase's.
type authClaims struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	CollectionID string `json:"collectionId"`
	Refreshable  bool   `json:"refreshable"`
	jwt.RegisteredClaims
}

// NewAuthToken issues an auth token for su, valid for the collection's auth
// token duration. It is signed with HS256 over su's token key followed by the
// collection secret, so rotating either revokes it.
func (s *SuperuserService) NewAuthToken(ctx context.Context, su *Superuser) (string, error) {
	return s.newToken(ctx, su, true, 0)
}

// NewStaticAuthToken issues a non-refreshable auth token for su valid for d.
func (s *SuperuserService) NewStaticAuthToken(ctx context.Context, su *Superuser, d time.Duration) (string, error) {
	return s.newToken(ctx, su, false, d)
}

func (s *SuperuserService) newToken(ctx context.Context, su *Superuser, refreshable bool, d time.Duration) (string, error) {
	opts, err := s.options(ctx)
	if err != nil {
		return "", err
	}
	if d <= 0 {
		d = time.Duration(opts.AuthToken.Duration) * time.Second
	}
	claims := authClaims{
		ID:           su.ID,
		Type:         TokenTypeAuth,
		CollectionID: migrations.SuperusersCollectionID,
		Refreshable:  refreshable,
		RegisteredClaims: jwt.RegisteredClaims{
			ExpiresAt: jwt.NewNumericDate(s.app.Now().Add(d)),
		},
	}
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	return token.SignedString([]byte(su.TokenKey + opts.AuthToken.Secret))
}

// ErrInvalidToken is the cause of every token rejection; callers see guests
// (public routes) or 401s, never why.
var ErrInvalidToken = errors.New("invalid auth token")

// FindByAuthToken returns the superuser an auth token belongs to, and whether
// the token may be refreshed. Tokens of other types or collections, signed
// with another algorithm or key, or expired, are rejected.
func (s *SuperuserService) FindByAuthToken(ctx context.Context, token string) (*Superuser, bool, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, false, ErrInvalidToken
	}
	var unverified authClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &unverified); err != nil {
		return nil, false, ErrInvalidToken
	}
	if unverified.Type != TokenTypeAuth || unverified.CollectionID != migrations.SuperusersCollectionID || unverified.ID == "" {
		return nil, false, ErrInvalidToken
	}
	su, err := s.FindByID(ctx, unverified.ID)
	if err != nil {
		if ErrorCodeOf(err) == CodeNotFound {
			return nil, false, ErrInvalidToken
		}
		return nil, false, err
	}
	opts, err := s.options(ctx)
	if err != nil {
		return nil, false, err
	}

	var claims authClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.app.Now),
	)
	_, err = parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		return []byte(su.TokenKey + opts.AuthToken.Secret), nil
	})
	if err != nil || claims.ID != su.ID || claims.Type != TokenTypeAuth {
		return nil, false, ErrInvalidToken
	}
	return su, claims.Refreshable, nil
}
