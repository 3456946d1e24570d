// Package mailer delivers email: over SMTP (github.com/wneessen/go-mail),
// to a log (development without SMTP) or into an in-memory Mailbox
// (tests). It knows nothing of the App; core adapts these senders to its
// Mailer interface and chooses one from the settings on every send.
package mailer
