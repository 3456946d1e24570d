package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/mailer"
)

// ErrMailNotConfigured is the cause of the error a send returns when SMTP
// is off outside development mode: the message went nowhere.
var ErrMailNotConfigured = errors.New("smtp is not enabled in the mail settings")

// WithMailer replaces the transport that delivers the App's mail, e.g.
// with a captured mailbox in tests. Without it the transport is chosen
// from the settings on every send (see App.MailTransport).
func WithMailer(m Mailer) Option { return func(a *App) { a.mailer = m } }

// SenderMailer adapts a mailer.Sender (SMTP, Log, Mailbox) to a Mailer.
type SenderMailer struct {
	Sender mailer.Sender
}

// Send converts m and hands it to the sender.
func (s SenderMailer) Send(ctx context.Context, m *MailMessage) error {
	return s.Sender.Send(ctx, &mailer.Message{
		From:    m.From,
		To:      slices.Clone(m.To),
		Subject: m.Subject,
		HTML:    m.HTML,
		Text:    m.Text,
		Headers: maps.Clone(m.Headers),
	})
}

// Mailer returns the App's mailer. Each Send fills what the message
// leaves empty, the sender from settings.meta (senderName, senderAddress)
// and the text alternative from the HTML, then queues it as a durable
// "mail.send" job (through the transactional outbox, so mail about a
// change goes out only if the change commits, and survives a crash);
// the job delivers it through MailTransport, retrying failures. The
// caller's message is not modified.
func (a *App) Mailer() Mailer { return appMailer{app: a, queued: true} }

// MailerNow returns a mailer that delivers at once and reports the
// transport's error, for callers that must know (the test email).
func (a *App) MailerNow() Mailer { return appMailer{app: a} }

// mailJobType is the job that delivers queued mail.
const mailJobType = "mail.send"

// registerMailJob registers the delivery job. A transport that is not
// configured fails the same way on every try, so that is not retried.
// Auth mail carries reset, verification and OTP secrets: a delivered
// message is not kept in the queue, and its payload is never shown to
// callers who are not superusers (docs/security.md).
func (a *App) registerMailJob() {
	a.jobs.Register(mailJobType, func(ctx context.Context, job *Job) error {
		var msg MailMessage
		if err := job.Decode(&msg); err != nil {
			return fmt.Errorf("%w: %v", SkipRetry, err)
		}
		err := a.MailTransport().Send(ctx, &msg)
		if errors.Is(err, ErrMailNotConfigured) {
			return nil // already logged; retrying cannot help
		}
		return err
	}, JobQueue(QueueCritical), JobMaxRetry(8), JobKeepNoCompleted())
}

// MailTransport returns what delivers mail once a message is complete:
// WithMailer's, or else a transport that reads the settings on each send
// and uses SMTP when smtp.enabled is set, the log in development mode, and
// otherwise logs a warning and fails with ErrMailNotConfigured (code
// unavailable). Callers that must not reveal whether an address exists
// (password resets, OTPs) log that error and answer as if the mail went.
func (a *App) MailTransport() Mailer {
	if a.mailer != nil {
		return a.mailer
	}
	return settingsTransport{a}
}

type appMailer struct {
	app    *App
	queued bool
}

func (m appMailer) Send(ctx context.Context, msg *MailMessage) error {
	if len(msg.To) == 0 {
		return errors.New("mail: message has no recipient")
	}
	c := *msg
	if c.From.Address == "" {
		meta := m.app.Settings().Meta
		c.From = mail.Address{Name: meta.SenderName, Address: meta.SenderAddress}
	}
	if c.Text == "" && c.HTML != "" {
		c.Text = mailer.HTMLToText(c.HTML)
	}
	if m.queued {
		_, err := m.app.jobs.EnqueueTx(ctx, mailJobType, &c)
		return err
	}
	return m.app.MailTransport().Send(ctx, &c)
}

// settingsTransport picks the transport from the current settings.
type settingsTransport struct{ app *App }

func (t settingsTransport) Send(ctx context.Context, msg *MailMessage) error {
	a := t.app
	smtp := a.Settings().SMTP
	switch {
	case smtp.Enabled:
		s := mailer.NewSMTP(mailer.SMTPConfig{
			Host: smtp.Host, Port: smtp.Port, Username: smtp.Username, Password: smtp.Password,
			AuthMethod: smtp.AuthMethod, TLS: smtp.TLS, LocalName: smtp.LocalName,
			UserAgent: "Hatchgrid/" + Version,
			Dialer:    a.OutboundPolicy(OutboundService).Dialer(mailer.DefaultSMTPTimeout),
		})
		if err := (SenderMailer{s}).Send(ctx, msg); err != nil {
			return Wrap(err, CodeUnavailable, "Failed to send the email.")
		}
		return nil
	case a.IsDev():
		return SenderMailer{mailer.Log{Logger: a.logger.With("component", "mail")}}.Send(ctx, msg)
	default:
		to := strings.Join(mailer.Addresses(msg.To), ", ")
		a.logger.WarnContext(ctx, fmt.Sprintf("SMTP is not configured; email to %s not sent", to),
			"component", "mail", "subject", msg.Subject)
		return Wrap(ErrMailNotConfigured, CodeUnavailable, "Email sending is not configured.")
	}
}

// TestEmail asks SendTestEmail for one auth email, PocketBase's
// POST /api/settings/test/email body.
type TestEmail struct {
	Email    string `json:"email"`
	Template string `json:"template"`
	// Collection is an auth collection's id or name; _superusers when
	// empty.
	Collection string `json:"collection"`
}

// testEmailFailed is the message of every SendTestEmail error, PocketBase's.
const testEmailFailed = "Failed to send the test email."

// SendTestEmail validates in, renders the collection's template for a
// stand-in record carrying in.Email and placeholder values (a dummy token,
// OTP and alert), and sends it through the App's mailer. Bad input is a
// validation Error with per-field details; SMTP switched off is said so.
// Any other failure is PocketBase's invalid Error without the raw cause,
// which is logged: the mail server is whatever the settings name, and its
// replies (or why it could not be reached) would make this a probe of
// the internal network.
func (a *App) SendTestEmail(ctx context.Context, in TestEmail) error {
	c, err := a.validateTestEmail(in)
	if err != nil {
		return err
	}
	rec := NewRecord(c)
	for _, f := range c.Fields {
		if !f.Hidden {
			rec.Set(f.Name, "__test_"+f.Name+"__")
		}
	}
	rec.Set("email", in.Email)
	msg, err := RenderAuthEmail(a, c, AuthEmail(in.Template), rec, map[string]string{
		EmailPlaceholderToken:     "TEST_TOKEN",
		EmailPlaceholderOTP:       "123456",
		EmailPlaceholderOTPID:     "TEST_OTP_ID",
		EmailPlaceholderAlertInfo: FormatTime(a.Now()) + " - 127.0.0.1, test browser",
	})
	if err == nil {
		err = a.MailerNow().Send(ctx, msg)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrMailNotConfigured):
		return &Error{Code: CodeInvalid, Message: testEmailFailed + " Raw error: \n" + ErrMailNotConfigured.Error(), Err: err}
	}
	a.logger.WarnContext(ctx, "test email failed", "component", "mail", "template", in.Template, "error", err.Error())
	return &Error{Code: CodeInvalid, Message: testEmailFailed, Err: err}
}

func (a *App) validateTestEmail(in TestEmail) (*Collection, error) {
	fields := map[string]FieldError{}
	if addr, err := mail.ParseAddress(in.Email); in.Email == "" {
		fields["email"] = Required()
	} else if err != nil || addr.Address != in.Email {
		fields["email"] = FieldError{Code: "validation_is_email", Message: "Must be a valid email address."}
	}
	if in.Template == "" {
		fields["template"] = Required()
	} else if !slices.Contains(AuthEmails(), AuthEmail(in.Template)) {
		fields["template"] = FieldError{Code: "validation_in_invalid", Message: "Must be a valid value."}
	}
	name := in.Collection
	if name == "" {
		name = SuperusersCollectionName
	}
	c, err := a.Collections().Find(name)
	if err != nil || !c.IsAuth() || c.Auth == nil {
		fields["collection"] = FieldError{Code: "validation_invalid_auth_collection", Message: "Must be a valid auth collection id or name."}
	}
	if len(fields) > 0 {
		return nil, Invalid(testEmailFailed, fields)
	}
	return c, nil
}
