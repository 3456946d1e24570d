package core_test

import (
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/mailer/smtptest"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer = coretest.LogBuffer

func testMessage(to string) *core.MailMessage {
	return &core.MailMessage{
		To:      []mail.Address{{Address: to}},
		Subject: "Hello",
		HTML:    `<p>Hi there,</p><p><a href="http://acme.test/x">Open</a></p>`,
	}
}

func TestAppMailerFillsSenderAndText(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	msg := testMessage("a@example.com")
	if err := app.MailerNow().Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if msg.From.Address != "" || msg.Text != "" {
		t.Errorf("the caller's message changed: %+v", msg)
	}
	got, ok := coretest.Mailbox(t, app).LastTo("a@example.com")
	if !ok {
		t.Fatal("nothing captured")
	}
	if got.From.Name != "Support" || got.From.Address != "support@example.com" {
		t.Errorf("from = %+v", got.From)
	}
	if got.Text != "Hi there,\n\nOpen (http://acme.test/x)" || got.Subject != "Hello" {
		t.Errorf("message = %+v", got)
	}

	// A sender given by the caller is kept.
	msg.From = mail.Address{Name: "Ops", Address: "ops@acme.test"}
	msg.Text = "own text"
	_ = app.MailerNow().Send(ctx, msg)
	if got, _ := coretest.Mailbox(t, app).Last(); got.From.Address != "ops@acme.test" || got.Text != "own text" {
		t.Errorf("message = %+v", got)
	}
	if err := app.MailerNow().Send(ctx, &core.MailMessage{Subject: "nobody"}); err == nil {
		t.Error("a message without recipients was sent")
	}
}

func TestWithMailerReplacesTheTransport(t *testing.T) {
	t.Parallel()
	var got []*core.MailMessage
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithMailer(mailerFunc(func(_ context.Context, m *core.MailMessage) error {
		got = append(got, m)
		return nil
	}))))
	if err := app.MailerNow().Send(context.Background(), testMessage("b@example.com")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].From.Address != "support@example.com" {
		t.Fatalf("got %+v", got)
	}
}

type mailerFunc func(context.Context, *core.MailMessage) error

func (f mailerFunc) Send(ctx context.Context, m *core.MailMessage) error { return f(ctx, m) }

func TestAppMailerWithoutSMTP(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	app := coretest.NewApp(t, coretest.WithRealMailer(), coretest.WithAppOptions(core.WithLogger(logger)))
	err := app.MailerNow().Send(context.Background(), testMessage("c@example.com"))
	if !errors.Is(err, core.ErrMailNotConfigured) || core.ErrorCodeOf(err) != core.CodeUnavailable {
		t.Fatalf("err = %v", err)
	}
	if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "SMTP is not configured; email to c@example.com not sent") {
		t.Errorf("log = %s", out)
	}
}

func TestAppMailerLogsInDevMode(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	app := coretest.NewApp(t, coretest.WithRealMailer(), coretest.WithAppOptions(core.WithLogger(logger)),
		coretest.WithConfig(func(c *core.Config) { c.Dev = true }))
	if err := app.MailerNow().Send(context.Background(), testMessage("d@example.com")); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"component=mail", "to=[d@example.com]", "subject=Hello", "Open (http://acme.test/x)"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q: %s", want, out)
		}
	}
}

func TestAppMailerUsesSMTPSettings(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t, smtptest.Options{Username: "mailer", Password: "s3cret"})
	app := coretest.NewApp(t, coretest.WithRealMailer(), coretest.WithConfig(func(c *core.Config) { c.Dev = true }))
	ctx := context.Background()
	s := app.Settings()
	s.SMTP = core.SMTPSettings{Enabled: true, Host: srv.Host(), Port: srv.Port(), Username: "mailer", Password: "s3cret", AuthMethod: "LOGIN", LocalName: "hg.test"}
	s.Meta.SenderName, s.Meta.SenderAddress = "Hatch", "noreply@hatch.test"
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := app.MailerNow().Send(ctx, testMessage("e@example.com")); err != nil {
		t.Fatal(err)
	}
	got := srv.Last()
	if got == nil || got.User != "mailer" || got.From != "noreply@hatch.test" || len(got.To) != 1 || got.To[0] != "e@example.com" {
		t.Fatalf("received %+v", got)
	}
	if got.Subject() != "Hello" || !strings.Contains(got.Header("From"), "Hatch") || !strings.HasPrefix(got.Header("User-Agent"), "Hatchgrid/") {
		t.Errorf("headers: %s", got.Data)
	}
	if !strings.Contains(got.Part("text/html"), `<a href="http://acme.test/x">Open</a>`) || !strings.Contains(got.Part("text/plain"), "Open (http://acme.test/x)") {
		t.Errorf("body: %s", got.Data)
	}

	// Settings are read on every send: a wrong password now fails...
	s.SMTP.Password = "wrong"
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := app.MailerNow().Send(ctx, testMessage("e@example.com")); core.ErrorCodeOf(err) != core.CodeUnavailable {
		t.Fatalf("send with a wrong password = %v", err)
	}
	// ...and with SMTP off, dev mode logs instead.
	s.SMTP.Enabled = false
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := app.MailerNow().Send(ctx, testMessage("e@example.com")); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d messages, want 1", n)
	}
}

// TestMailerQueuesDelivery checks that Mailer sends through a job: inside a
// transaction nothing leaves until it commits, and a rolled-back change
// sends nothing.
func TestMailerQueuesDelivery(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	box := coretest.Mailbox(t, app)
	ctx := context.Background()
	boom := errors.New("boom")
	_ = app.InTx(ctx, func(ctx context.Context) error {
		if err := app.Mailer().Send(ctx, testMessage("rolled@example.com")); err != nil {
			t.Fatal(err)
		}
		return boom
	})
	err := app.InTx(ctx, func(ctx context.Context) error {
		if err := app.Mailer().Send(ctx, testMessage("kept@example.com")); err != nil {
			return err
		}
		if box.Len() != 0 {
			t.Error("mail left before the transaction committed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := box.LastTo("kept@example.com"); !ok {
		t.Fatal("committed mail was not delivered")
	}
	if _, ok := box.LastTo("rolled@example.com"); ok {
		t.Fatal("mail of a rolled-back transaction was delivered")
	}
}

// TestMailJobKeepsNoCompletedCopy: a delivered message (an auth mail
// carries a reset link or an OTP) leaves no completed copy in the queue,
// while another job type keeps the outbox's hour.
func TestMailJobKeepsNoCompletedCopy(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithJobWorkers(), coretest.WithConfig(func(c *core.Config) {
		c.Jobs.PollInterval = 50 * time.Millisecond
		c.Jobs.OutboxInterval = 200 * time.Millisecond
	}))
	box := coretest.Mailbox(t, app)
	ctx := context.Background()
	app.Jobs().Register("kept", func(context.Context, *core.Job) error { return nil }, core.JobQueue(core.QueueCritical))
	if err := app.Mailer().Send(ctx, testMessage("reset@example.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Jobs().EnqueueTx(ctx, "kept", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	insp := app.Jobs()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := insp.QueueInfo(ctx, core.QueueCritical)
		if err == nil && box.Len() == 1 && info.Pending+info.Active == 0 && info.Completed > 0 {
			tasks, err := listTasks(app, core.QueueCritical, "completed")
			if err != nil {
				t.Fatal(err)
			}
			for _, ti := range tasks {
				if ti.Type != "kept" {
					t.Fatalf("a completed %s task is kept: %s", ti.Type, ti.Payload)
				}
			}
			if len(tasks) != 1 {
				t.Fatalf("completed tasks = %d, want the one kept job", len(tasks))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs did not finish: %+v %v, %d mails", info, err, box.Len())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
