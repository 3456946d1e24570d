package mailer

import (
	"context"
	"net/mail"
)

// Message is one email as the senders of this package take it.
type Message struct {
	From    mail.Address
	To      []mail.Address
	Subject string
	HTML    string
	// Text is the plain-text alternative; senders derive it from HTML
	// (HTMLToText) when it is empty.
	Text    string
	Headers map[string]string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// PlainText returns m's text alternative: Text, or HTML converted when Text
// is empty.
func (m *Message) PlainText() string {
	if m.Text != "" || m.HTML == "" {
		return m.Text
	}
	return HTMLToText(m.HTML)
}

// Addresses returns the bare addresses of list, e.g. for logs.
func Addresses(list []mail.Address) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}
