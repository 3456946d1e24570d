package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/go-ozzo/ozzo-validation/v4/is"
	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/hatchgrid/hatchgrid/migrations"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Superuser is a row of _superusers: an account that may do anything.
type Superuser struct {
	ID              string `gorm:"column:id;primaryKey"`
	Email           string `gorm:"column:email"`
	EmailVisibility bool   `gorm:"column:emailVisibility"`
	Verified        bool   `gorm:"column:verified"`
	PasswordHash    string `gorm:"column:password"`
	TokenKey        string `gorm:"column:tokenKey"`
	Created         string `gorm:"column:created"`
	Updated         string `gorm:"column:updated"`
}

// TableName implements GORM's tabler.
func (Superuser) TableName() string { return SuperusersCollectionName }

// Password limits: bcrypt reads at most 72 bytes.
const (
	minPasswordLength = 8
	maxPasswordBytes  = 71
)

// SetPassword hashes password into s and rotates its token key, which
// invalidates every token issued before.
func (s *Superuser) SetPassword(password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	s.PasswordHash = string(hash)
	s.TokenKey = security.RandomString(50, security.SecretAlphabet)
	return nil
}

// ValidatePassword reports whether password is s's password.
func (s *Superuser) ValidatePassword(password string) bool {
	if s.PasswordHash == "" || password == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(s.PasswordHash), []byte(password)) == nil
}

// SuperuserService manages superusers.
type SuperuserService struct {
	app  *App
	opts superuserOptions
}

// Count returns how many superusers exist.
func (s *SuperuserService) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.app.ReadDB(ctx).Model(&Superuser{}).Count(&n).Error
	return n, err
}

// FindByEmail returns the superuser with email (case-insensitive).
func (s *SuperuserService) FindByEmail(ctx context.Context, email string) (*Superuser, error) {
	var su Superuser
	err := s.app.ReadDB(ctx).Where(`LOWER("email") = ?`, strings.ToLower(strings.TrimSpace(email))).Take(&su).Error
	return s.found(&su, err)
}

// FindByID returns the superuser with id.
func (s *SuperuserService) FindByID(ctx context.Context, id string) (*Superuser, error) {
	var su Superuser
	err := s.app.ReadDB(ctx).Where(`"id" = ?`, id).Take(&su).Error
	return s.found(&su, err)
}

func (s *SuperuserService) found(su *Superuser, err error) (*Superuser, error) {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, &Error{Code: CodeNotFound, Message: "The requested resource wasn't found.", Err: err}
	}
	if err != nil {
		return nil, err
	}
	return su, nil
}

// Create adds a superuser; an existing email is a conflict.
func (s *SuperuserService) Create(ctx context.Context, email, password string) (*Superuser, error) {
	return s.save(ctx, email, password, saveCreate)
}

// Update sets the password of the superuser with email; a missing one is
// not found.
func (s *SuperuserService) Update(ctx context.Context, email, password string) (*Superuser, error) {
	return s.save(ctx, email, password, saveUpdate)
}

// Upsert creates the superuser with email, or sets its password if it exists.
func (s *SuperuserService) Upsert(ctx context.Context, email, password string) (*Superuser, error) {
	return s.save(ctx, email, password, saveUpsert)
}

type saveMode int

const (
	saveCreate saveMode = iota
	saveUpdate
	saveUpsert
)

func (s *SuperuserService) save(ctx context.Context, email, password string, mode saveMode) (*Superuser, error) {
	email = strings.TrimSpace(email)
	if err := validateCredentials(email, password); err != nil {
		return nil, err
	}
	var out *Superuser
	err := s.app.InTx(ctx, func(ctx context.Context) error {
		su, err := s.FindByEmail(ctx, email)
		isNew := false
		switch {
		case ErrorCodeOf(err) == CodeNotFound && mode != saveUpdate:
			isNew = true
			su = &Superuser{ID: security.NewID(), Email: email, Verified: true}
		case err != nil:
			return err
		case mode == saveCreate:
			return Invalid("Failed to create superuser.", map[string]FieldError{
				"email": {Code: "validation_not_unique", Message: "Value must be unique."},
			})
		}
		if err := su.SetPassword(password); err != nil {
			return err
		}
		now := FormatTime(s.app.Now())
		if isNew {
			su.Created = now
		}
		su.Updated = now

		event := &SuperuserSaveEvent{App: s.app, Context: ctx, Superuser: su, IsNew: isNew}
		return s.app.OnSuperuserSave().Trigger(event, func(e *SuperuserSaveEvent) error {
			db := s.app.DB(e.Context)
			var err error
			if e.IsNew {
				err = db.Create(e.Superuser).Error
			} else {
				err = db.Save(e.Superuser).Error
			}
			if s.app.dialect.IsUniqueViolation(err) {
				return Invalid("Failed to save superuser.", map[string]FieldError{
					"email": {Code: "validation_not_unique", Message: "Value must be unique."},
				})
			}
			out = e.Superuser
			return err
		})
	})
	return out, err
}

// Delete removes the superuser with email. The last superuser cannot be
// deleted through the API in PocketBase; the CLI may, so this does not check.
func (s *SuperuserService) Delete(ctx context.Context, email string) error {
	return s.app.InTx(ctx, func(ctx context.Context) error {
		su, err := s.FindByEmail(ctx, email)
		if err != nil {
			return err
		}
		event := &SuperuserDeleteEvent{App: s.app, Context: ctx, Superuser: su}
		return s.app.OnSuperuserDelete().Trigger(event, func(e *SuperuserDeleteEvent) error {
			return s.app.DB(e.Context).Where(`"id" = ?`, e.Superuser.ID).Delete(&Superuser{}).Error
		})
	})
}

// AuthWithPassword checks an email and password. Every failure, unknown
// email included, is the same error so that accounts cannot be probed.
func (s *SuperuserService) AuthWithPassword(ctx context.Context, identity, password string) (*Superuser, error) {
	fields := map[string]FieldError{}
	if strings.TrimSpace(identity) == "" {
		fields["identity"] = Required()
	}
	if password == "" {
		fields["password"] = Required()
	}
	if len(fields) > 0 {
		return nil, Invalid("An error occurred while validating the submitted data.", fields)
	}
	failed := Errorf(CodeInvalid, "Failed to authenticate.")

	su, err := s.FindByEmail(ctx, identity)
	if ErrorCodeOf(err) == CodeNotFound {
		// Spend the same time as a real check, so timing tells nothing.
		(&Superuser{PasswordHash: dummyHash()}).ValidatePassword(password)
		return nil, failed
	}
	if err != nil {
		return nil, err
	}
	if !su.ValidatePassword(password) {
		return nil, failed
	}
	event := &SuperuserAuthEvent{App: s.app, Context: ctx, Superuser: su}
	if err := s.app.OnSuperuserAuth().Trigger(event, nil); err != nil {
		return nil, err
	}
	return su, nil
}

// dummyHash returns a bcrypt hash at the default cost, compared against when
// the identity is unknown. Computed once, on first use.
var dummyHash = sync.OnceValue(func() string {
	h, _ := bcrypt.GenerateFromPassword([]byte("hatchgrid-timing-equaliser"), bcrypt.DefaultCost)
	return string(h)
})

func validateCredentials(email, password string) error {
	fields := map[string]FieldError{}
	if err := validation.Validate(email, validation.Required, is.EmailFormat); err != nil {
		fields["email"] = fieldErrorOf(err)
	}
	switch {
	case password == "":
		fields["password"] = Required()
	case utf8.RuneCountInString(password) < minPasswordLength:
		fields["password"] = FieldError{Code: "validation_min_text_constraint", Message: "Must be at least 8 character(s)."}
	case len(password) > maxPasswordBytes:
		fields["password"] = FieldError{Code: "validation_max_text_constraint", Message: "Must be less than 72 bytes."}
	}
	if len(fields) > 0 {
		return Invalid("An error occurred while validating the submitted data.", fields)
	}
	return nil
}

// fieldErrorOf converts an ozzo-validation error, whose codes are
// PocketBase's, into a FieldError with a capitalised sentence.
func fieldErrorOf(err error) FieldError {
	var ve validation.Error
	if errors.As(err, &ve) {
		return FieldError{Code: ve.Code(), Message: sentence(ve.Message())}
	}
	return FieldError{Code: "validation_invalid_value", Message: "Invalid value."}
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// CollectionID returns the id of the collection s belongs to.
func (s *Superuser) CollectionID() string { return migrations.SuperusersCollectionID }
