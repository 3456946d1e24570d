package core

import (
	"context"
	"strings"
	"time"
)

// SuperuserService manages the records of _superusers, the auth collection
// whose members may do anything, for the CLI and first-run setup. Through
// the API superusers are ordinary auth records.
type SuperuserService struct {
	app *App
}

// Superusers returns the superuser service.
func (a *App) Superusers() *SuperuserService { return &SuperuserService{app: a} }

func (s *SuperuserService) collection() (*Collection, error) {
	return s.app.collections.Find(SuperusersCollectionName)
}

// Count returns how many superusers exist.
func (s *SuperuserService) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.app.ReadDB(ctx).Table(SuperusersCollectionName).Count(&n).Error
	return n, err
}

// FindByEmail returns the superuser with email (case-insensitive).
func (s *SuperuserService) FindByEmail(ctx context.Context, email string) (*Record, error) {
	c, err := s.collection()
	if err != nil {
		return nil, err
	}
	recs, err := s.app.Records().query(ctx, c, `LOWER("email") = ?`, []any{strings.ToLower(strings.TrimSpace(cleanText(email)))}, " LIMIT 1")
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errNotFound()
	}
	return recs[0], nil
}

// Create adds a superuser; an existing email is a validation error.
func (s *SuperuserService) Create(ctx context.Context, email, password string) (*Record, error) {
	return s.save(ctx, email, password, saveCreate)
}

// Update sets the password of the superuser with email; a missing one is
// not found.
func (s *SuperuserService) Update(ctx context.Context, email, password string) (*Record, error) {
	return s.save(ctx, email, password, saveUpdate)
}

// Upsert creates the superuser with email, or sets its password if it
// exists.
func (s *SuperuserService) Upsert(ctx context.Context, email, password string) (*Record, error) {
	return s.save(ctx, email, password, saveUpsert)
}

type saveMode int

const (
	saveCreate saveMode = iota
	saveUpdate
	saveUpsert
)

// save goes through the record service, so validation, hooks
// (OnRecordCreate("_superusers"), ...) and token-key rotation are those of
// every auth record.
func (s *SuperuserService) save(ctx context.Context, email, password string, mode saveMode) (*Record, error) {
	c, err := s.collection()
	if err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	var out *Record
	err = s.app.InTx(ctx, func(ctx context.Context) error {
		existing, err := s.FindByEmail(ctx, email)
		switch {
		case ErrorCodeOf(err) == CodeNotFound && mode != saveUpdate:
			out, err = s.app.Records().Create(AsSystem(ctx), c, map[string]any{
				"email": email, "password": password, "passwordConfirm": password, "verified": true,
			})

			return err
		case err != nil:
			return err
		case mode == saveCreate:
			return Invalid("Failed to create record.", map[string]FieldError{
				"email": {Code: "validation_not_unique", Message: "Value must be unique."},
			})
		}
		if password == "" {
			return Invalid("Failed to update record.", map[string]FieldError{"password": Required()})
		}
		body := map[string]any{"password": password, "passwordConfirm": password}
		out, err = s.app.Records().Update(AsSystem(ctx), c, existing.ID(), body)
		return err
	})
	return out, err
}

// Delete removes the superuser with email.
func (s *SuperuserService) Delete(ctx context.Context, email string) error {
	c, err := s.collection()
	if err != nil {
		return err
	}
	rec, err := s.FindByEmail(ctx, email)
	if err != nil {
		return err
	}
	return s.app.Records().Delete(AsSystem(ctx), c, rec.ID())
}

// NewLocalToken returns a non-refreshable auth token of the oldest
// superuser, valid for ttl: for a CLI command to act through the API of
// the server running on the same data dir and database (whoever can read
// the database can sign such tokens anyway).
func (s *SuperuserService) NewLocalToken(ctx context.Context, ttl time.Duration) (string, error) {
	c, err := s.collection()
	if err != nil {
		return "", err
	}
	recs, err := s.app.Records().query(ctx, c, `1 = 1`, nil, ` ORDER BY "created", "id" LIMIT 1`)
	if err != nil {
		return "", err
	}
	if len(recs) == 0 {
		return "", Errorf(CodeNotFound, "No superuser exists yet: create one with `hatchgrid superuser upsert EMAIL PASSWORD`.")
	}
	return s.app.Auth().NewStaticAuthToken(recs[0], ttl)
}
