package core

import (
	"context"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenTypeInstall marks the one-time token of the first-run dashboard link.
const TokenTypeInstall = "install"

type installClaims struct {
	Type string `json:"type"`
	jwt.RegisteredClaims
}

// installKey derives the install tokens' signing key from the _superusers
// auth secret, so that they cannot pass for auth tokens and rotate with it.
func (s *SuperuserService) installKey() ([]byte, error) {
	c, err := s.collection()
	if err != nil {
		return nil, err
	}
	cfg, err := tokenConfig(c, TokenTypeAuth)
	if err != nil {
		return nil, err
	}
	return []byte("install:" + cfg.Secret), nil
}

// NewInstallToken issues the token of the first-run link that lets whoever
// holds it create the first superuser from the dashboard. It is valid for
// ttl, and only while no superuser exists: creating the first one spends
// every install token at once.
func (s *SuperuserService) NewInstallToken(ctx context.Context, ttl time.Duration) (string, error) {
	key, err := s.installKey()
	if err != nil {
		return "", err
	}
	claims := installClaims{
		Type:             TokenTypeInstall,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(s.app.Now().Add(ttl))},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
}

// VerifyInstallToken checks an install token: signature, expiry, and that no
// superuser exists yet.
func (s *SuperuserService) VerifyInstallToken(ctx context.Context, token string) error {
	key, err := s.installKey()
	if err != nil {
		return err
	}
	var claims installClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.app.Now),
	)
	if _, err := parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return key, nil }); err != nil || claims.Type != TokenTypeInstall {
		return ErrInvalidToken
	}
	n, err := s.Count(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return errors.Join(ErrInvalidToken, errors.New("a superuser already exists"))
	}
	return nil
}
