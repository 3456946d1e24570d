package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// ErrRefused is the cause of every connection the policy refuses.
var ErrRefused = errors.New("egress: destination refused")

// Policy says which addresses outgoing connections may reach. The zero
// value refuses every non-public address.
type Policy struct {
	// Private allows loopback and private addresses: 127.0.0.0/8, ::1,
	// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 (shared
	// address space) and fc00::/7 (unique local), cloud metadata addresses
	// among them excepted.
	Private bool
	// Allow lists prefixes that are allowed whatever else the policy
	// says, link-local and metadata addresses included.
	Allow []netip.Prefix
}

var (
	// alwaysRefused are refused even with Private set.
	alwaysRefused = []struct {
		prefix netip.Prefix
		what   string
	}{
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata)"},
		{netip.MustParsePrefix("fe80::/10"), "link-local (cloud metadata)"},
		{netip.MustParsePrefix("100.100.100.200/32"), "a cloud metadata address"},
		{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata address"},
		{netip.MustParsePrefix("0.0.0.0/8"), `"this host"`},
		{netip.MustParsePrefix("::/128"), "unspecified"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
	}
	// private are allowed with Private set.
	private = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("fc00::/7"),
	}
	// guardian refuses the IANA special-purpose ranges, on any port.
	guardian = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())
)

// Check returns nil when the policy allows addr, an error wrapping
// ErrRefused otherwise. An IPv4 address mapped into IPv6 or embedded in
// the NAT64 prefix is judged as the IPv4 address it stands for.
func (p Policy) Check(addr netip.Addr) error {
	addr = addr.WithZone("").Unmap()
	if ssrf.IPv6NAT64Prefix.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte(b[12:]))
	}
	for _, allowed := range p.Allow {
		if allowed.Contains(addr) {
			return nil
		}
	}
	for _, r := range alwaysRefused {
		if r.prefix.Contains(addr) {
			return fmt.Errorf("%w: %s is %s", ErrRefused, addr, r.what)
		}
	}
	if p.Private {
		for _, prefix := range private {
			if prefix.Contains(addr) {
				return nil
			}
		}
	}
	if err := guardian.SafeAddr(addr); err != nil {
		return fmt.Errorf("%w: %s is not a public address", ErrRefused, addr)
	}
	return nil
}

// Control is a net.Dialer Control function: it checks the address a
// connection is about to be made to, after name resolution, before any
// packet is sent.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q: %v", ErrRefused, address, err)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a dialer that checks the policy on every connection.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.Control}
}

// DialContext dials address as net.Dialer does, with the policy checked
// on the resolved address; it suits SMTP clients and the like.
func (p Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer(30*time.Second).DialContext(ctx, network, address)
}

// Transport returns a new transport, http.DefaultTransport's settings
// otherwise, whose connections all pass the policy. It uses no proxy
// from the environment: a proxy would make the connection, and the
// policy could no longer see where to.
func (p Policy) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.Dialer(30 * time.Second).DialContext
	return t
}

// MaxRedirects is how many redirects a Client follows.
const MaxRedirects = 5

// Client returns a client on transport (which should come from
// Transport) with timeout, that follows at most MaxRedirects redirects,
// to http and https URLs only, checking the policy on each new address
// (literal addresses at once, names when the connection is dialed).
func (p Policy) Client(transport http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{Transport: transport, Timeout: timeout, CheckRedirect: p.checkRedirect}
}

func (p Policy) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= MaxRedirects {
		return fmt.Errorf("egress: stopped after %d redirects", MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect to a %q URL", ErrRefused, req.URL.Scheme)
	}
	if addr, err := netip.ParseAddr(req.URL.Hostname()); err == nil {
		return p.Check(addr)
	}
	return nil
}
