package apis

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
)

// realIP returns echo's IP extractor: the client IP is the connection's
// unless settings.trustedProxy names headers a proxy in front sets, as in
// PocketBase. Of a comma-separated list (X-Forwarded-For) it takes the
// rightmost valid IP, the one the trusted proxy saw, or the leftmost with
// useLeftmostIP. Settings are read per request, so a change applies at once.
func realIP(app *core.App) func(*http.Request) string {
	return func(r *http.Request) string {
		proxy := app.Settings().TrustedProxy
		for _, h := range proxy.Headers {
			values := strings.Split(r.Header.Get(h), ",")
			if proxy.UseLeftmostIP {
				for _, v := range values {
					if ip, ok := parseIP(v); ok {
						return ip
					}
				}
				continue
			}
			for i := len(values) - 1; i >= 0; i-- {
				if ip, ok := parseIP(values[i]); ok {
					return ip
				}
			}
		}
		return remoteIP(r)
	}
}

func parseIP(s string) (string, bool) {
	addr, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		if host, _, splitErr := net.SplitHostPort(strings.TrimSpace(s)); splitErr == nil {
			addr, err = netip.ParseAddr(host)
		}
	}
	if err != nil {
		return "", false
	}
	return addr.Unmap().String(), true
}
