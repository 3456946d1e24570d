package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/mailer"
	"github.com/hatchgrid/hatchgrid/core/mailer/smtptest"
)

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "hello", "hello"},
		{"empty", "", ""},
		{"paragraphs", "<p>Hello,</p>\n<p>Thanks,<br/>\n  Acme team</p>", "Hello,\n\nThanks,\nAcme team"},
		{"whitespace collapses", "<p>  a \n\t b  </p>", "a b"},
		{"inline tags keep spaces", "<p>Code: <strong>123456</strong> now</p>", "Code: 123456 now"},
		{"entities", "<p>Tom &amp; Jerry &lt;3&nbsp;it&#39;s</p>", "Tom & Jerry <3 it's"},
		{"link target follows text", `<a class="btn" href="http://x.test/a?b=1&amp;c=2" target="_blank">Verify</a>`, "Verify (http://x.test/a?b=1&c=2)"},
		{"link whose text is its target", `<a href="http://x.test">http://x.test</a>`, "http://x.test"},
		{"fragment link", `<a href="#top">Top</a>`, "Top"},
		{"head style script dropped", "<html><head><title>T</title><style>p{color:red}</style></head><body><script>x()</script><p>Body</p></body></html>", "Body"},
		{"comments dropped", "a<!-- hidden -->b", "ab"},
		{"list", "<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"unterminated tag", "ok <b", "ok"},
		{"uppercase tags", "<P>A</P><BR>B", "A\n\nB"},
		{"blank lines capped", "<p>a</p><p></p><p></p><div>b</div>", "a\n\nb"},
	} {
		if got := mailer.HTMLToText(tc.in); got != tc.want {
			t.Errorf("%s: HTMLToText(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func msg(to string) *mailer.Message {
	return &mailer.Message{
		From:    mail.Address{Name: "Acme Support", Address: "support@acme.test"},
		To:      []mail.Address{{Address: to}},
		Subject: "Verify your Acme email — ünïcode",
		HTML:    `<p>Hello,</p><p><a href="http://acme.test/verify/TOKEN">Verify</a></p>`,
		Headers: map[string]string{"X-Hatchgrid-Test": "yes"},
	}
}

func TestMailbox(t *testing.T) {
	t.Parallel()
	box := mailer.NewMailbox()
	if _, ok := box.Last(); ok {
		t.Fatal("empty mailbox has a last message")
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := box.Send(context.Background(), msg(fmt.Sprintf("u%d@acme.test", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if box.Len() != 50 || len(box.Messages()) != 50 {
		t.Fatalf("len = %d", box.Len())
	}
	m, ok := box.LastTo("U7@ACME.TEST")
	if !ok || m.To[0].Address != "u7@acme.test" {
		t.Fatalf("LastTo = %+v %v", m, ok)
	}
	if m.Text != "Hello,\n\nVerify (http://acme.test/verify/TOKEN)" {
		t.Errorf("text alternative = %q", m.Text)
	}
	if _, ok := box.LastTo("nobody@acme.test"); ok {
		t.Error("LastTo found a message for nobody")
	}

	// Kept messages are copies.
	orig := msg("copy@acme.test")
	_ = box.Send(context.Background(), orig)
	orig.To[0].Address = "changed@acme.test"
	orig.Headers["X-Hatchgrid-Test"] = "changed"
	if last, _ := box.Last(); last.To[0].Address != "copy@acme.test" || last.Headers["X-Hatchgrid-Test"] != "yes" {
		t.Errorf("kept message changed with the original: %+v", last)
	}

	down := errors.New("mail server down")
	box.FailWith(down)
	if err := box.Send(context.Background(), msg("x@acme.test")); !errors.Is(err, down) {
		t.Errorf("send with FailWith = %v", err)
	}
	box.FailWith(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := box.Send(ctx, msg("x@acme.test")); !errors.Is(err, context.Canceled) {
		t.Errorf("send with a canceled context = %v", err)
	}
	box.Reset()
	if box.Len() != 0 {
		t.Error("Reset kept messages")
	}
}

func TestLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := mailer.Log{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := l.Send(context.Background(), msg("dev@acme.test")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"to":["dev@acme.test"]`, `"subject":"Verify your Acme email — ünïcode"`, `Verify (http://acme.test/verify/TOKEN)`, `"level":"INFO"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
}

func TestSMTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("plain connection without auth", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.Options{})
		s := mailer.NewSMTP(mailer.SMTPConfig{Host: srv.Host(), Port: srv.Port(), LocalName: "hg.test", UserAgent: "Hatchgrid"})
		if err := s.Send(ctx, msg("to@acme.test")); err != nil {
			t.Fatal(err)
		}
		got := srv.Last()
		if got == nil {
			t.Fatal("no message received")
		}
		if got.From != "support@acme.test" || len(got.To) != 1 || got.To[0] != "to@acme.test" || got.TLS || got.User != "" {
			t.Errorf("envelope = %+v", got)
		}
		if s := got.Subject(); s != "Verify your Acme email — ünïcode" {
			t.Errorf("subject = %q", s)
		}
		if from := got.Header("From"); !strings.Contains(from, "Acme Support") || !strings.Contains(from, "<support@acme.test>") {
			t.Errorf("From = %q", from)
		}
		if got.Header("X-Hatchgrid-Test") != "yes" || got.Header("User-Agent") != "Hatchgrid" || got.Header("Message-Id") == "" {
			t.Errorf("headers = %s", got.Data)
		}
		if html := got.Part("text/html"); !strings.Contains(html, `<a href="http://acme.test/verify/TOKEN">Verify</a>`) {
			t.Errorf("html part = %q", html)
		}
		if text := strings.ReplaceAll(got.Part("text/plain"), "\r\n", "\n"); strings.TrimSpace(text) != "Hello,\n\nVerify (http://acme.test/verify/TOKEN)" {
			t.Errorf("text part = %q", text)
		}
	})
	for _, method := range []string{"", "PLAIN", "LOGIN", "CRAM-MD5", "login"} {
		t.Run("auth "+method, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.NewServer(t, smtptest.Options{Username: "mailer", Password: "s3cret"})
			cfg := mailer.SMTPConfig{Host: srv.Host(), Port: srv.Port(), Username: "mailer", Password: "s3cret", AuthMethod: method}
			if err := mailer.NewSMTP(cfg).Send(ctx, msg("to@acme.test")); err != nil {
				t.Fatal(err)
			}
			if got := srv.Last(); got == nil || got.User != "mailer" {
				t.Fatalf("message = %+v", got)
			}
			cfg.Password = "wrong"
			if err := mailer.NewSMTP(cfg).Send(ctx, msg("to@acme.test")); err == nil {
				t.Fatal("a wrong password sent the message")
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("messages = %d", n)
			}
		})
	}
	t.Run("unknown auth method", func(t *testing.T) {
		t.Parallel()
		err := mailer.NewSMTP(mailer.SMTPConfig{Host: "127.0.0.1", Port: 1, Username: "u", AuthMethod: "NTLM"}).Send(ctx, msg("to@acme.test"))
		if err == nil || !strings.Contains(err.Error(), "unsupported auth method") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("starttls", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.Options{StartTLS: true, Username: "mailer", Password: "s3cret"})
		cfg := mailer.SMTPConfig{Host: srv.Host(), Port: srv.Port(), Username: "mailer", Password: "s3cret", TLSConfig: srv.ClientTLSConfig()}
		if err := mailer.NewSMTP(cfg).Send(ctx, msg("to@acme.test")); err != nil {
			t.Fatal(err)
		}
		if got := srv.Last(); got == nil || !got.TLS || got.User != "mailer" {
			t.Fatalf("message = %+v", got)
		}
		// The system roots do not trust the test certificate.
		cfg.TLSConfig = nil
		if err := mailer.NewSMTP(cfg).Send(ctx, msg("to@acme.test")); err == nil {
			t.Fatal("an untrusted certificate was accepted")
		}
	})
	t.Run("implicit tls", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.Options{ImplicitTLS: true})
		cfg := mailer.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: true, TLSConfig: srv.ClientTLSConfig()}
		if err := mailer.NewSMTP(cfg).Send(ctx, msg("to@acme.test")); err != nil {
			t.Fatal(err)
		}
		if got := srv.Last(); got == nil || !got.TLS {
			t.Fatalf("message = %+v", got)
		}
	})
	t.Run("implicit tls over a given dialer", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.Options{ImplicitTLS: true, Username: "u", Password: "p"})
		var dialed atomic.Int64
		d := &net.Dialer{Control: func(string, string, syscall.RawConn) error { dialed.Add(1); return nil }}
		cfg := mailer.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: true, TLSConfig: srv.ClientTLSConfig(),
			Username: "u", Password: "p", Dialer: d}
		if err := mailer.NewSMTP(cfg).Send(ctx, msg("to@acme.test")); err != nil {
			t.Fatal(err)
		}
		if got := srv.Last(); got == nil || !got.TLS || got.User != "u" || dialed.Load() != 1 {
			t.Fatalf("message = %+v, %d dials through the dialer", got, dialed.Load())
		}
	})
	t.Run("a dialer that refuses", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.Options{})
		refused := errors.New("refused by policy")
		d := &net.Dialer{Control: func(string, string, syscall.RawConn) error { return refused }}
		err := mailer.NewSMTP(mailer.SMTPConfig{Host: srv.Host(), Port: srv.Port(), Dialer: d}).Send(ctx, msg("to@acme.test"))
		if !errors.Is(err, refused) || len(srv.Messages()) != 0 {
			t.Fatalf("err = %v, %d messages", err, len(srv.Messages()))
		}
	})
	t.Run("rejected data", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.Options{RejectData: "554 5.7.1 message rejected"})
		err := mailer.NewSMTP(mailer.SMTPConfig{Host: srv.Host(), Port: srv.Port()}).Send(ctx, msg("to@acme.test"))
		if err == nil || !strings.Contains(err.Error(), "message rejected") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("server down", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.Options{})
		port := srv.Port()
		srv.Close()
		if err := mailer.NewSMTP(mailer.SMTPConfig{Host: "127.0.0.1", Port: port}).Send(ctx, msg("to@acme.test")); err == nil {
			t.Fatal("sent to a closed server")
		}
	})
	t.Run("no recipient", func(t *testing.T) {
		t.Parallel()
		m := msg("x@acme.test")
		m.To = nil
		if err := mailer.NewSMTP(mailer.SMTPConfig{Host: "127.0.0.1", Port: 1}).Send(ctx, m); err == nil {
			t.Fatal("sent without a recipient")
		}
	})
}
