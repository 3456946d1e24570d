package egress_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/egress"
)

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	strict := egress.Policy{}
	private := egress.Policy{Private: true}
	allowMeta := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}}
	for _, tc := range []struct {
		addr                     string
		strict, private, allowed bool // allowed by strict, private, allowMeta
	}{
		{"93.184.216.34", true, true, true},
		{"2606:4700::6810:85e5", true, true, true},
		// Cloud metadata and link-local: refused unless listed.
		{"169.254.169.254", false, false, true},
		{"169.254.170.2", false, false, false},
		{"fe80::1", false, false, false},
		{"100.100.100.200", false, false, false},
		{"fd00:ec2::254", false, false, false},
		{"::ffff:169.254.169.254", false, false, true},
		{"64:ff9b::a9fe:a9fe", false, false, true}, // NAT64 of 169.254.169.254
		{"0.0.0.0", false, false, false},
		{"::", false, false, false},
		{"224.0.0.1", false, false, false},
		// Loopback and private: only with Private.
		{"127.0.0.1", false, true, false},
		{"127.0.0.2", false, true, false},
		{"::1", false, true, false},
		{"::ffff:127.0.0.1", false, true, false},
		{"10.1.2.3", false, true, false},
		{"172.16.0.1", false, true, false},
		{"192.168.1.1", false, true, false},
		{"100.64.0.1", false, true, false},
		{"fd12:3456::1", false, true, false},
		{"64:ff9b::a00:1", false, true, false}, // NAT64 of 10.0.0.1
		// Other special-purpose ranges: refused always.
		{"192.0.2.1", false, false, false},
		{"198.18.0.1", false, false, false},
		{"240.0.0.1", false, false, false},
		{"2001:db8::1", false, false, false},
		{"2002:a9fe:a9fe::1", false, false, false}, // 6to4
	} {
		addr := netip.MustParseAddr(tc.addr)
		for _, c := range []struct {
			name string
			p    egress.Policy
			want bool
		}{{"strict", strict, tc.strict}, {"private", private, tc.private}, {"allow", allowMeta, tc.allowed || tc.strict}} {
			err := c.p.Check(addr)
			if (err == nil) != c.want {
				t.Errorf("%s policy, %s: %v, want allowed=%v", c.name, tc.addr, err, c.want)
			}
			if err != nil && !errors.Is(err, egress.ErrRefused) {
				t.Errorf("%s policy, %s: %v does not wrap ErrRefused", c.name, tc.addr, err)
			}
		}
	}
}

// countingServer is a loopback HTTP server that counts the connections
// it accepts.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestDialChecksTheResolvedAddress: a name is judged by what it resolves
// to when the connection is made ("localhost" is loopback), and a refused
// connection is never opened.
func TestDialChecksTheResolvedAddress(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	strict := egress.Policy{}
	client := strict.Client(strict.Transport(), 5*time.Second)
	for _, u := range []string{"http://localhost" + port, srv.URL} {
		_, err := client.Get(u)
		if !errors.Is(err, egress.ErrRefused) {
			t.Fatalf("GET %s: %v, want ErrRefused", u, err)
		}
	}
	if _, err := strict.DialContext(context.Background(), "tcp", "localhost"+port); !errors.Is(err, egress.ErrRefused) {
		t.Fatalf("dial: %v, want ErrRefused", err)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server accepted %d connections", n)
	}
	private := egress.Policy{Private: true}
	res, err := private.Client(private.Transport(), 5*time.Second).Get("http://localhost" + port)
	if err != nil {
		t.Fatalf("with Private: %v", err)
	}
	res.Body.Close()
}

// loopbackOnly makes sure that the test sends nothing beyond loopback,
// even if the policy under test were broken: it fails the dial of any
// other literal address before the policy's dialer sees it.
func loopbackOnly(t *testing.T, tr *http.Transport) *http.Transport {
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if ip, err := netip.ParseAddr(host); err == nil && !ip.IsLoopback() {
			t.Errorf("dialing %s", addr)
			return nil, errors.New("test: not dialing beyond loopback")
		}
		return dial(ctx, network, addr)
	}
	return tr
}

// TestRedirectsAreChecked: a redirect to a refused address is not
// followed, nor one to another scheme. (Names are checked when dialed:
// TestDialChecksTheResolvedAddress.)
func TestRedirectsAreChecked(t *testing.T) {
	t.Parallel()
	target, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	port := target.URL[strings.LastIndex(target.URL, ":"):]
	for _, to := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.2" + port, "file:///etc/passwd"} {
		redirector := httptest.NewServer(http.RedirectHandler(to, http.StatusFound))
		t.Cleanup(redirector.Close)
		// Only the redirector itself is allowed.
		p := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
		res, err := p.Client(loopbackOnly(t, p.Transport()), 5*time.Second).Get(redirector.URL)
		if err == nil {
			res.Body.Close()
			t.Fatalf("redirect to %s followed", to)
		}
		if !errors.Is(err, egress.ErrRefused) {
			t.Fatalf("redirect to %s: %v, want ErrRefused", to, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the redirect target accepted %d connections", n)
	}
}
