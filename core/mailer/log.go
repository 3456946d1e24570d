package mailer

import (
	"context"
	"log/slog"
)

// Log is a Sender that writes each message to a logger instead of
// delivering it, so that links and codes can be read from the console in
// development without an SMTP server.
type Log struct {
	Logger *slog.Logger
}

// Send logs m at info level: sender, recipients, subject and text.
func (l Log) Send(ctx context.Context, m *Message) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.InfoContext(ctx, "email logged instead of sent",
		"from", m.From.String(),
		"to", Addresses(m.To),
		"subject", m.Subject,
		"text", m.PlainText(),
	)
	return nil
}
