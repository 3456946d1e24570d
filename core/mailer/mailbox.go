package mailer

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Mailbox is a Sender that keeps messages in memory, for tests. It is safe
// for concurrent use; its zero value is empty and ready.
type Mailbox struct {
	mu       sync.Mutex
	messages []Message
	// err, set by FailWith, makes Send fail instead of keeping the message.
	err error
}

// NewMailbox returns an empty Mailbox.
func NewMailbox() *Mailbox { return &Mailbox{} }

// Send keeps a copy of m, its text alternative filled in.
func (b *Mailbox) Send(ctx context.Context, m *Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	c := *m
	c.To = slices.Clone(m.To)
	c.Headers = maps.Clone(m.Headers)
	c.Text = m.PlainText()
	b.messages = append(b.messages, c)
	return nil
}

// FailWith makes later sends fail with err (nil restores delivery), to
// test how callers handle a mail server that is down.
func (b *Mailbox) FailWith(err error) {
	b.mu.Lock()
	b.err = err
	b.mu.Unlock()
}

// Messages returns copies of the kept messages, oldest first.
func (b *Mailbox) Messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.messages)
}

// Len returns the number of kept messages.
func (b *Mailbox) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.messages)
}

// Last returns the newest message, if any.
func (b *Mailbox) Last() (Message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.messages) == 0 {
		return Message{}, false
	}
	return b.messages[len(b.messages)-1], true
}

// LastTo returns the newest message addressed to addr (case-insensitive),
// if any.
func (b *Mailbox) LastTo(addr string) (Message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.messages) - 1; i >= 0; i-- {
		for _, to := range b.messages[i].To {
			if strings.EqualFold(to.Address, addr) {
				return b.messages[i], true
			}
		}
	}
	return Message{}, false
}

// Reset forgets every kept message.
func (b *Mailbox) Reset() {
	b.mu.Lock()
	b.messages = nil
	b.mu.Unlock()
}
