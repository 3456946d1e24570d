package core

import (
	"net/http"
	"time"

	"github.com/hatchgrid/hatchgrid/core/egress"
)

// Outbound names whom an outgoing connection is for. Each kind has its
// destination policy, from the "outbound" config section.
type Outbound int

const (
	// OutboundWebhook is for webhook deliveries, to URLs an admin typed:
	// loopback and private addresses are refused unless
	// outbound.webhooks_private is set.
	OutboundWebhook Outbound = iota
	// OutboundService is for S3, SMTP and OAuth2 providers, whose servers
	// often live on the private network: loopback and private addresses
	// are allowed unless outbound.services_private is false.
	OutboundService
	outboundKinds
)

// outbound holds each kind's policy and the transport its HTTP clients
// share, so that connections are reused across requests.
type outbound struct {
	policies   [outboundKinds]egress.Policy
	transports [outboundKinds]*http.Transport
}

func newOutbound(cfg OutboundConfig) *outbound {
	o := &outbound{}
	allow := cfg.allowPrefixes()
	o.policies[OutboundWebhook] = egress.Policy{Private: cfg.WebhooksPrivate, Allow: allow}
	o.policies[OutboundService] = egress.Policy{Private: cfg.ServicesPrivate, Allow: allow}
	for i, p := range o.policies {
		o.transports[i] = p.Transport()
	}
	return o
}

// OutboundPolicy returns the destination policy of kind, for dialers
// that are not HTTP (SMTP) or that build their own transport (S3).
func (a *App) OutboundPolicy(kind Outbound) egress.Policy { return a.outbound.policies[kind] }

// HTTPClient returns a client for kind's outgoing requests, with timeout
// (0 for none): every connection it opens, redirects included, passes
// kind's destination policy. Clients of one kind share connections.
func (a *App) HTTPClient(kind Outbound, timeout time.Duration) *http.Client {
	return a.outbound.policies[kind].Client(a.outbound.transports[kind], timeout)
}

func (o *outbound) close() {
	for _, t := range o.transports {
		t.CloseIdleConnections()
	}
}
