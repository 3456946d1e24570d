package webhooks_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
)

// listener is an HTTP server on addr ("127.0.0.1:0") that counts the
// connections it accepts.
func listener(t *testing.T, addr string, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// createPost makes a post, which queues a delivery to every webhook.
func (e *env) createPost(t *testing.T) {
	t.Helper()
	if code, body := e.do(t, http.MethodPost, "/api/collections/posts/records", `{"title":"x"}`, ""); code != 200 {
		t.Fatalf("create record: %d %s", code, body)
	}
}

// refused checks that the webhook's one delivery failed on the policy.
func (e *env) refused(t *testing.T, id string) {
	t.Helper()
	rows := e.deliveries(t, id)
	if len(rows) == 0 || rows[0].Status != webhooks.StatusFailed || !strings.Contains(rows[0].Error, "destination refused") {
		t.Fatalf("deliveries = %+v, want one failed on the destination policy", rows)
	}
}

// TestWebhooksRefuseInternalDestinations replays finding 10 of issue 15:
// a webhook could target loopback, link-local (cloud metadata) and private
// addresses, directly, through a name or through a redirect. By default
// they are all refused now, at the address each connection is dialed to,
// and nothing reaches the internal listener.
func TestWebhooksRefuseInternalDestinations(t *testing.T) {
	t.Parallel()
	internal, conns := listener(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	port := internal.URL[strings.LastIndex(internal.URL, ":"):]
	e := newEnv(t, &webhooks.Plugin{MaxRetry: 1}, coretest.WithConfig(func(c *core.Config) { c.Outbound.WebhooksPrivate = false }))
	for _, url := range []string{internal.URL, "http://localhost" + port, "http://[::ffff:127.0.0.1]" + port} {
		id := e.createWebhook(t, url)
		e.createPost(t)
		e.refused(t, id)
		e.do(t, http.MethodDelete, "/api/hg/webhooks/"+id, "", e.token)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the internal listener accepted %d connections", n)
	}
}

// TestWebhookRedirectsAreChecked: with only the receiver's own address
// allowed, a redirect to another loopback address is not followed. (The
// metadata address is left to core/egress's tests, which make sure no
// packet could leave for it even if the policy broke.)
func TestWebhookRedirectsAreChecked(t *testing.T) {
	t.Parallel()
	other, conns := listener(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	e := newEnv(t, &webhooks.Plugin{MaxRetry: 1}, coretest.WithConfig(func(c *core.Config) {
		c.Outbound.WebhooksPrivate, c.Outbound.Allow = false, []string{"127.0.0.1"}
	}))
	for _, to := range []string{other.URL, other.URL + "/again"} {
		redirector, _ := listener(t, "127.0.0.1:0", http.RedirectHandler(to, http.StatusTemporaryRedirect))
		id := e.createWebhook(t, redirector.URL)
		e.createPost(t)
		e.refused(t, id)
		e.do(t, http.MethodDelete, "/api/hg/webhooks/"+id, "", e.token)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the redirect target accepted %d connections", n)
	}
	// The allowed address itself is delivered to.
	recv := newReceiver(t, 0)
	e.createWebhook(t, recv.srv.URL)
	e.createPost(t)
	if calls, _, _ := recv.snapshot(); calls != 1 {
		t.Fatalf("the allowed receiver got %d calls", calls)
	}
}
