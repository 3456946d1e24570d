package core

import (
	"context"
	"net/mail"
)

// MailMessage is one email.
type MailMessage struct {
	From    mail.Address
	To      []mail.Address
	Subject string
	HTML    string
	// Text is the plain-text alternative; derived from HTML when empty.
	Text    string
	Headers map[string]string
}

// Mailer sends email. The App's mailer is chosen from the settings (SMTP
// when enabled) and can be replaced with WithMailer; the jobs system will
// wrap it so that mail is sent from a durable job.
type Mailer interface {
	Send(ctx context.Context, m *MailMessage) error
}
