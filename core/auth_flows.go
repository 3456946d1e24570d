package core

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core/security"
	"golang.org/x/crypto/bcrypt"
)

// The email flows answer the same way whether or not the address belongs
// to an account, so that they cannot be used to find out who has one;
// sending failures are logged, not reported.

// findByEmail returns the auth record of c with email, or nil.
func (s *AuthService) findByEmail(ctx context.Context, c *Collection, email string) (*Record, error) {
	email = strings.TrimSpace(email)
	if _, err := mail.ParseAddress(email); err != nil {
		return nil, nil
	}
	recs, err := s.app.Records().query(ctx, c, "LOWER("+quote(c.Name)+`."email") = ?`, []any{strings.ToLower(cleanText(email))}, " LIMIT 1")
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return recs[0], nil
}

func requireEmail(email string) error {
	email = strings.TrimSpace(email)
	if email == "" {
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{"email": Required()})
	}
	if _, err := mail.ParseAddress(email); err != nil {
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"email": {Code: "validation_is_email", Message: "Must be a valid email address."},
		})
	}
	return nil
}

// sendAuthEmail renders kind for rec (to the given address, the record's
// own when empty) and sends it, logging failures.
func (s *AuthService) sendAuthEmail(ctx context.Context, rec *Record, kind AuthEmail, to string, data map[string]string) {
	msg, err := RenderAuthEmail(s.app, rec.collection, kind, rec, data)
	if err == nil {
		if to != "" {
			msg.To = []mail.Address{{Address: to}}
		}
		err = s.app.Mailer().Send(ctx, msg)
	}
	if err != nil {
		s.app.logger.Warn("auth email not sent", "kind", string(kind), "collection", rec.collection.Name, "record", rec.ID(), "error", err.Error())
	}
}

// RequestVerification emails a verification link to the unverified record
// with email, if there is one. Only the email's validation happens before
// it returns: the lookup and the mail run in the background, so that the
// answer takes as long for an unknown address as for a known one.
func (s *AuthService) RequestVerification(ctx context.Context, c *Collection, email string) error {
	if err := requireEmail(email); err != nil {
		return err
	}
	s.app.runInBackground(ctx, "verification email", func(ctx context.Context) error {
		rec, err := s.findByEmail(ctx, c, email)
		if err != nil || rec == nil || toBool(rec.Get("verified")) {
			return err
		}
		token, err := s.NewToken(rec, TokenTypeVerification, 0, map[string]any{"email": rec.GetString("email")})
		if err != nil {
			return err
		}
		s.sendAuthEmail(ctx, rec, AuthEmailVerification, "", map[string]string{EmailPlaceholderToken: token})
		return nil
	})
	return nil
}

// ConfirmVerification marks the record of a verification token verified.
func (s *AuthService) ConfirmVerification(ctx context.Context, c *Collection, token string) error {
	rec, err := s.parseFlowToken(ctx, c, token, TokenTypeVerification)
	if err != nil {
		return err
	}
	if toBool(rec.Get("verified")) {
		return nil
	}
	_, err = s.app.Records().Update(AsSystem(ctx), c, rec.ID(), map[string]any{"verified": true})
	return err
}

// parseFlowToken checks a token of typ that belongs to collection c.
func (s *AuthService) parseFlowToken(ctx context.Context, c *Collection, token, typ string) (*Record, error) {
	if strings.TrimSpace(token) == "" {
		return nil, Invalid("An error occurred while validating the submitted data.", map[string]FieldError{"token": Required()})
	}
	rec, _, err := s.ParseToken(ctx, token, typ)
	if errors.Is(err, ErrInvalidToken) || (err == nil && rec.collection.ID != c.ID) {
		return nil, Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"token": {Code: "validation_invalid_token", Message: "Invalid or expired token."},
		})
	}
	return rec, err
}

// RequestPasswordReset emails a reset link to the record with email. As
// with RequestVerification, the lookup and the mail run in the
// background.
func (s *AuthService) RequestPasswordReset(ctx context.Context, c *Collection, email string) error {
	if err := requireEmail(email); err != nil {
		return err
	}
	s.app.runInBackground(ctx, "password reset email", func(ctx context.Context) error {
		rec, err := s.findByEmail(ctx, c, email)
		if err != nil || rec == nil {
			return err
		}
		token, err := s.NewToken(rec, TokenTypePasswordReset, 0, map[string]any{"email": rec.GetString("email")})
		if err != nil {
			return err
		}
		s.sendAuthEmail(ctx, rec, AuthEmailPasswordReset, "", map[string]string{EmailPlaceholderToken: token})
		return nil
	})
	return nil
}

// ConfirmPasswordReset sets a new password from a reset token. The new
// password rotates the token key, so the token (and every other token of
// the record) is spent. The email it was sent to is now known to work, so
// the record is verified too.
func (s *AuthService) ConfirmPasswordReset(ctx context.Context, c *Collection, token, password, passwordConfirm string) error {
	rec, err := s.parseFlowToken(ctx, c, token, TokenTypePasswordReset)
	if err != nil {
		return err
	}
	_, err = s.app.Records().Update(AsSystem(ctx), c, rec.ID(), map[string]any{
		"password": password, "passwordConfirm": passwordConfirm, "verified": true,
	})

	return err
}

// RequestEmailChange emails a confirmation link to newEmail for rec.
func (s *AuthService) RequestEmailChange(ctx context.Context, rec *Record, newEmail string) error {
	if err := requireEmail(newEmail); err != nil {
		return renameField(err, "email", "newEmail")
	}
	if other, err := s.findByEmail(ctx, rec.collection, newEmail); err != nil || other != nil {
		if err != nil {
			return err
		}
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"newEmail": {Code: "validation_email_taken", Message: "The email is already in use."},
		})
	}
	token, err := s.NewToken(rec, TokenTypeEmailChange, 0, map[string]any{"email": rec.GetString("email"), "newEmail": strings.TrimSpace(newEmail)})
	if err != nil {
		return err
	}
	s.sendAuthEmail(ctx, rec, AuthEmailEmailChange, strings.TrimSpace(newEmail), map[string]string{EmailPlaceholderToken: token})
	return nil
}

// ConfirmEmailChange moves the record to the new email of the token, after
// checking its password.
func (s *AuthService) ConfirmEmailChange(ctx context.Context, c *Collection, token, password string) error {
	rec, claims, err := s.ParseToken(ctx, token, TokenTypeEmailChange)
	if errors.Is(err, ErrInvalidToken) || (err == nil && rec.collection.ID != c.ID) {
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"token": {Code: "validation_invalid_token", Message: "Invalid or expired token."},
		})
	}
	if err != nil {
		return err
	}
	if !ValidatePassword(rec, password) {
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"password": {Code: "validation_invalid_password", Message: "Missing or invalid auth record password."},
		})
	}
	newEmail, _ := claims["newEmail"].(string)
	_, err = s.app.Records().Update(AsSystem(ctx), c, rec.ID(), map[string]any{"email": newEmail, "verified": true})
	return err
}

// renameField moves a validation error from one field key to another.
func renameField(err error, from, to string) error {
	var ce *Error
	if !errors.As(err, &ce) || ce.Fields == nil {
		return err
	}
	fe, ok := ce.Fields[from]
	if !ok {
		return err
	}
	return Invalid(ce.Message, map[string]FieldError{to: fe})
}

// otpRow is a row of _otps.
type otpRow struct {
	ID            string `gorm:"column:id;primaryKey"`
	CollectionRef string `gorm:"column:collectionRef"`
	RecordRef     string `gorm:"column:recordRef"`
	Password      string `gorm:"column:password"`
	SentTo        string `gorm:"column:sentTo"`
	Created       string `gorm:"column:created"`
	Updated       string `gorm:"column:updated"`
}

func (otpRow) TableName() string { return "_otps" }

// OTP guards, PocketBase's.
const (
	// OTPMaxAttempts is how many sign-ins with an OTP one auth record may
	// try per OTPAttemptWindow, whichever of its OTPs they name and from
	// wherever they come; right and wrong ones count alike.
	OTPMaxAttempts = 5
	// OTPAttemptWindow is the fixed window OTPMaxAttempts counts in; it
	// starts at the first attempt.
	OTPAttemptWindow = 180 * time.Second
	// OTPMaxLive is how many unexpired OTPs one record may have. Past it,
	// outside development mode, a request answers with the newest one's
	// id and mails nothing.
	OTPMaxLive = 10
)

// RequestOTP emails a one-time password to the record with email and
// returns the id to sign in with. For an unknown email it returns an id
// all the same (one that matches nothing), so the answer tells nothing;
// the same queries run for both, and the slow part (hashing the code,
// storing it, the mail) runs in the background, so the time taken tells
// nothing either. A record with OTPMaxLive unexpired OTPs gets the newest
// one's id again and no mail.
func (s *AuthService) RequestOTP(ctx context.Context, c *Collection, email string) (string, error) {
	opts := c.Auth.OTPOptions()
	if !opts.Enabled {
		return "", Errorf(CodeForbidden, "The collection is not configured to allow OTP authentication.")
	}
	if err := requireEmail(email); err != nil {
		return "", err
	}
	rec, err := s.findByEmail(ctx, c, email)
	if err != nil {
		return "", err
	}
	recordID := ""
	if rec != nil {
		recordID = rec.ID()
	}
	live, err := s.liveOTPs(ctx, c, recordID, opts)
	if err != nil {
		return "", err
	}
	if rec == nil {
		return security.NewID(), nil
	}
	if len(live) >= OTPMaxLive && !s.app.IsDev() {
		s.app.logger.Warn("too many OTP requests: reusing the newest", "collection", c.Name, "record", rec.ID(), "otpId", live[0].ID)
		return live[0].ID, nil
	}
	id := security.NewID()
	code := security.RandomString(opts.Length, "0123456789")
	created := FormatTime(s.app.Now())
	s.app.runInBackground(ctx, "otp", func(ctx context.Context) error {
		return s.issueOTP(ctx, rec, id, code, created)
	})
	return id, nil
}

// liveOTPs returns the unexpired OTPs of the record, newest first, at
// most OTPMaxLive; an empty recordID matches none.
func (s *AuthService) liveOTPs(ctx context.Context, c *Collection, recordID string, opts OTPOptions) ([]otpRow, error) {
	since := FormatTime(s.app.Now().Add(-time.Duration(opts.Duration) * time.Second))
	var rows []otpRow
	err := s.app.ReadDB(ctx).Select("id", "created").
		Where(`"collectionRef" = ? AND "recordRef" = ? AND "created" > ?`, c.ID, recordID, since).
		Order(`"created" DESC, "id" DESC`).Limit(OTPMaxLive).Find(&rows).Error
	return rows, err
}

// issueOTP stores the OTP id with code for rec and mails the code. It
// checks the limit of live OTPs again, under a lock: requests that came
// in together all saw fewer, and only the first ones may add theirs.
func (s *AuthService) issueOTP(ctx context.Context, rec *Record, id, code, created string) error {
	c := rec.collection
	hash, err := bcrypt.GenerateFromPassword([]byte(code), s.app.passwordCost)
	if err != nil {
		return err
	}
	s.app.otpIssue.Lock()
	live, err := s.liveOTPs(ctx, c, rec.ID(), c.Auth.OTPOptions())
	if err == nil && len(live) >= OTPMaxLive && !s.app.IsDev() {
		s.app.otpIssue.Unlock()
		s.app.logger.Warn("too many OTP requests: none issued", "collection", c.Name, "record", rec.ID())
		return nil
	}
	if err == nil {
		row := &otpRow{ID: id, CollectionRef: c.ID, RecordRef: rec.ID(), Password: string(hash), SentTo: rec.GetString("email"), Created: created, Updated: created}
		err = s.app.DB(ctx).Create(row).Error
	}
	s.app.otpIssue.Unlock()
	if err != nil {
		return err
	}
	s.sendAuthEmail(ctx, rec, AuthEmailOTP, "", map[string]string{EmailPlaceholderOTP: code, EmailPlaceholderOTPID: id})
	return nil
}

// errInvalidOTP is PocketBase's answer to an OTP sign-in with an unknown,
// expired or wrong OTP, whichever it is.
func errInvalidOTP() error { return Errorf(CodeInvalid, "Invalid or expired OTP.") }

// AuthWithOTP signs in with an OTP: it must be unexpired and right, and
// is spent once right. A record whose OTP went to its own email is
// verified by it. Each record may try OTPMaxAttempts sign-ins per
// OTPAttemptWindow, counted across its OTPs and, with Redis, across the
// instances of a cluster; past that the attempt is a 429 before the code
// is even compared.
func (s *AuthService) AuthWithOTP(ctx context.Context, c *Collection, otpID, password string) (*Record, error) {
	opts := c.Auth.OTPOptions()
	if !opts.Enabled {
		return nil, Errorf(CodeForbidden, "The collection is not configured to allow OTP authentication.")
	}
	fields := map[string]FieldError{}
	if strings.TrimSpace(otpID) == "" {
		fields["otpId"] = Required()
	}
	if password == "" {
		fields["password"] = Required()
	}
	if len(fields) > 0 {
		return nil, Invalid("An error occurred while validating the submitted data.", fields)
	}
	var row otpRow
	err := s.app.DB(ctx).Where(`"id" = ? AND "collectionRef" = ?`, cleanText(otpID), c.ID).Limit(1).Find(&row).Error
	if err != nil {
		return nil, err
	}
	if row.ID == "" {
		bcrypt.CompareHashAndPassword([]byte(s.app.dummyHash()), []byte(password))
		return nil, errInvalidOTP()
	}
	created, _ := time.Parse(DateTimeLayout, row.Created)
	if s.app.Now().After(created.Add(time.Duration(opts.Duration) * time.Second)) {
		s.app.DB(ctx).Delete(&otpRow{}, `"id" = ?`, row.ID)
		return nil, errInvalidOTP()
	}
	rec, err := s.app.Records().Find(ctx, c, row.RecordRef)
	if err != nil {
		return nil, errInvalidOTP()
	}
	if err := s.countOTPAttempt(ctx, c, rec); err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(row.Password), []byte(password)) != nil {
		return nil, errInvalidOTP()
	}
	if err := s.app.DB(ctx).Delete(&otpRow{}, `"id" = ?`, row.ID).Error; err != nil {
		return nil, err
	}
	if !toBool(rec.Get("verified")) && strings.EqualFold(row.SentTo, rec.GetString("email")) {
		if rec, err = s.app.Records().Update(AsSystem(ctx), c, rec.ID(), map[string]any{"verified": true}); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// countOTPAttempt counts a sign-in attempt with an OTP of rec and refuses
// it past OTPMaxAttempts in the window. A failing store lets the attempt
// through, as the brute-force guard does.
func (s *AuthService) countOTPAttempt(ctx context.Context, c *Collection, rec *Record) error {
	ok, retry, err := guardBucket{s.app, "otp-attempts"}.Allow(ctx, c.ID+":"+rec.ID(), OTPMaxAttempts, OTPAttemptWindow)
	switch {
	case err != nil:
		s.app.logger.Warn("OTP guard: counting an attempt failed, letting it through", "error", err)
		return nil
	case !ok:
		return &Error{Code: CodeRateLimited, Message: "Too many attempts, please try again later with a new OTP.", Err: &RetryAfterError{After: retry}}
	}
	return nil
}

// mfaRow is a row of _mfas: the first factor of a pending sign-in.
type mfaRow struct {
	ID            string `gorm:"column:id;primaryKey"`
	CollectionRef string `gorm:"column:collectionRef"`
	RecordRef     string `gorm:"column:recordRef"`
	Method        string `gorm:"column:method"`
	Created       string `gorm:"column:created"`
	Updated       string `gorm:"column:updated"`
}

func (mfaRow) TableName() string { return "_mfas" }

// MFARequiredError answers a first factor when the collection wants two:
// the client signs in again with another method and this MFAID.
type MFARequiredError struct {
	MFAID string
}

func (e *MFARequiredError) Error() string { return "multi-factor authentication required" }

// CompleteAuth applies multi-factor authentication to a successful sign-in
// of rec with method ("password", "otp", "oauth2"). Without MFA it lets the
// sign-in through. With MFA, a first factor returns an MFARequiredError;
// a second, different factor with that mfaId lets the sign-in through.
func (s *AuthService) CompleteAuth(ctx context.Context, rec *Record, method, mfaID string) error {
	c := rec.collection
	opts := c.Auth.MFAOptions()
	if !opts.Enabled {
		return nil
	}
	if opts.Rule != "" {
		// The rule picks who needs MFA, with the record as @request.auth.
		req := &RequestInfo{Context: "mfa"}
		req.SetAuth(rec)
		matches, err := s.app.Records().matches(ctx, c, rec.ID(), opts.Rule, req)
		if err != nil || !matches {
			return err
		}
	}
	if strings.TrimSpace(mfaID) != "" {
		var row mfaRow
		err := s.app.DB(ctx).Where(`"id" = ? AND "collectionRef" = ? AND "recordRef" = ?`, cleanText(mfaID), c.ID, rec.ID()).Limit(1).Find(&row).Error
		if err != nil {
			return err
		}
		created, _ := time.Parse(DateTimeLayout, row.Created)
		valid := row.ID != "" && row.Method != method && !s.app.Now().After(created.Add(time.Duration(opts.Duration)*time.Second))
		if !valid {
			return Errorf(CodeInvalid, "Invalid or expired MFA session.")
		}
		return s.app.DB(ctx).Delete(&mfaRow{}, `"id" = ?`, row.ID).Error
	}
	now := FormatTime(s.app.Now())
	row := &mfaRow{ID: security.NewID(), CollectionRef: c.ID, RecordRef: rec.ID(), Method: method, Created: now, Updated: now}
	if err := s.app.DB(ctx).Create(row).Error; err != nil {
		return err
	}
	return &MFARequiredError{MFAID: row.ID}
}
