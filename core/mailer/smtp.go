package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultSMTPTimeout bounds connecting to the server and each command
// when SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 15 * time.Second

// SMTPConfig says how to reach an SMTP server.
type SMTPConfig struct {
	Host string
	Port int
	// Username and Password authenticate when Username is not empty.
	Username string
	Password string
	// AuthMethod is "PLAIN" (the default when empty), "LOGIN" or
	// "CRAM-MD5". PLAIN and LOGIN refuse to send the password over an
	// unencrypted connection to any host but localhost.
	AuthMethod string
	// TLS connects with TLS from the start (implicit TLS, usually port
	// 465); otherwise STARTTLS is used when the server offers it.
	TLS bool
	// LocalName is the EHLO name; "localhost" when empty.
	LocalName string
	// Timeout bounds dialing and each exchange with the server;
	// DefaultSMTPTimeout when zero. The context given to Send can end the
	// dial sooner.
	Timeout time.Duration
	// TLSConfig, when set, replaces the default TLS configuration (system
	// roots, ServerName = Host), e.g. to trust a private CA.
	TLSConfig *tls.Config
	// UserAgent, when set, is sent as the User-Agent header.
	UserAgent string
	// Dialer, when set, makes the connection to the server (TLS is added
	// over it for TLS), e.g. one whose Control checks where it goes.
	Dialer *net.Dialer
}

// SMTP is a Sender that delivers each message over its own connection to
// an SMTP server.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP returns an SMTP sender for cfg. It does not connect: each Send
// dials, delivers and quits.
func NewSMTP(cfg SMTPConfig) *SMTP { return &SMTP{cfg: cfg} }

// Send delivers m: the HTML body with a plain-text alternative (derived
// from the HTML when m.Text is empty), or the text alone.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	if len(m.To) == 0 {
		return errors.New("smtp: message has no recipient")
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	client, err := s.client()
	if err != nil {
		return err
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

func (s *SMTP) client() (*gomail.Client, error) {
	timeout := s.cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	helo := s.cfg.LocalName
	if helo == "" {
		helo = "localhost"
	}
	tlsConfig := s.cfg.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(timeout),
		gomail.WithHELO(helo),
		gomail.WithTLSConfig(tlsConfig),
	}
	if s.cfg.TLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if d := s.cfg.Dialer; d != nil {
		// go-mail dials with a function given this way as it is, implicit
		// TLS included: the handshake is ours to add.
		dial := d.DialContext
		if s.cfg.TLS {
			dial = (&tls.Dialer{NetDialer: d, Config: tlsConfig}).DialContext
		}
		opts = append(opts, gomail.WithDialContextFunc(dial))
	}
	if s.cfg.Username != "" {
		auth, err := authType(s.cfg.AuthMethod)
		if err != nil {
			return nil, err
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return client, nil
}

func authType(method string) (gomail.SMTPAuthType, error) {
	switch strings.ToUpper(method) {
	case "", "PLAIN":
		return gomail.SMTPAuthPlain, nil
	case "LOGIN":
		return gomail.SMTPAuthLogin, nil
	case "CRAM-MD5":
		return gomail.SMTPAuthCramMD5, nil
	}
	return "", fmt.Errorf("smtp: unsupported auth method %q", method)
}

// build turns m into a go-mail message.
func (s *SMTP) build(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(m.From.Name, m.From.Address); err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	for _, to := range m.To {
		if err := msg.AddToFormat(to.Name, to.Address); err != nil {
			return nil, fmt.Errorf("smtp: to: %w", err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	if s.cfg.UserAgent != "" {
		msg.SetUserAgent(s.cfg.UserAgent)
	}
	for k, v := range m.Headers {
		msg.SetGenHeader(gomail.Header(k), v)
	}
	if text := m.PlainText(); text != "" || m.HTML == "" {
		msg.SetBodyString(gomail.TypeTextPlain, text)
		if m.HTML != "" {
			msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
		}
	} else {
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
