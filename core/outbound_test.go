package core_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/egress"
	"github.com/hatchgrid/hatchgrid/core/mailer/smtptest"
)

// TestOutboundPolicyDefaults checks the policies the default config
// gives each kind of outgoing connection: webhooks reach public
// addresses only; S3, SMTP and OAuth2 also private ones; neither reaches
// link-local or metadata addresses unless outbound.allow lists them.
func TestOutboundPolicyDefaults(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	listed := coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.Outbound.Allow = []string{"169.254.169.254", "10.9.0.0/16"} }))
	for _, tc := range []struct {
		app             *core.App
		addr            string
		webhook, server bool
	}{
		{app, "93.184.216.34", true, true},
		{app, "127.0.0.1", false, true},
		{app, "10.1.2.3", false, true},
		{app, "fd00::1", false, true},
		{app, "169.254.169.254", false, false},
		{app, "fd00:ec2::254", false, false},
		{app, "100.100.100.200", false, false},
		{listed, "169.254.169.254", true, true},
		{listed, "169.254.170.2", false, false},
		{listed, "10.9.8.7", true, true},
	} {
		addr := netip.MustParseAddr(tc.addr)
		if err := tc.app.OutboundPolicy(core.OutboundWebhook).Check(addr); (err == nil) != tc.webhook {
			t.Errorf("webhook to %s: %v, want allowed=%v", tc.addr, err, tc.webhook)
		}
		if err := tc.app.OutboundPolicy(core.OutboundService).Check(addr); (err == nil) != tc.server {
			t.Errorf("service at %s: %v, want allowed=%v", tc.addr, err, tc.server)
		}
	}
}

// TestServicesGoThroughThePolicy: with outbound.services_private off,
// SMTP, S3 and OAuth2 servers on loopback are refused before a
// connection is made, which shows that each of them dials through the
// policy.
func TestServicesGoThroughThePolicy(t *testing.T) {
	t.Parallel()
	strict := coretest.WithConfig(func(c *core.Config) { c.Outbound.ServicesPrivate = false })
	ctx := context.Background()

	smtp := smtptest.NewServer(t, smtptest.Options{})
	app := coretest.NewApp(t, strict, coretest.WithRealMailer())
	s := app.Settings()
	s.SMTP = core.SMTPSettings{Enabled: true, Host: "127.0.0.1", Port: smtp.Port()}
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	err := app.SendTestEmail(ctx, core.TestEmail{Email: "a@example.com", Template: "verification"})
	if !errors.Is(err, egress.ErrRefused) || len(smtp.Messages()) != 0 {
		t.Fatalf("SMTP on loopback: %v, %d messages", err, len(smtp.Messages()))
	}

	s3 := coretest.NewS3Server(t)
	err = app.TestS3(ctx, s3.Settings())
	if total, _ := s3.Requests(); !errors.Is(err, egress.ErrRefused) || total != 0 {
		t.Fatalf("S3 on loopback: %v, %d requests", err, total)
	}

	var hits atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	res, err := app.HTTPClient(core.OutboundService, 0).Get("http://" + ln.Addr().String())
	if err == nil {
		res.Body.Close()
	}
	if !errors.Is(err, egress.ErrRefused) || hits.Load() != 0 {
		t.Fatalf("OAuth2 client to loopback: %v, %d hits", err, hits.Load())
	}
	f := newFakeOIDC(t)
	oapp, c := oauth2App(t, f, `""`, strict)
	f.grant("c1", "v1", map[string]any{"sub": "u-1", "email": "ann@example.com"})
	if _, err := signInOIDC(oapp, c, "c1", "v1"); !errors.Is(err, egress.ErrRefused) {
		t.Fatalf("OAuth2 sign-in with a provider on loopback: %v", err)
	}
}
