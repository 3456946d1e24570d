// Package egress is the destination policy of the connections Hatchgrid
// opens to addresses that settings or users choose (webhooks, S3, SMTP,
// OAuth2 providers). The policy is checked on the address each connection
// is actually dialed to, after name resolution, so a name that resolves
// (or is rebound) to a refused address is refused as well, and again on
// every redirect.
//
// Link-local addresses (169.254.0.0/16, fe80::/10, where clouds serve
// instance metadata and credentials), the other cloud metadata addresses,
// "this host" (0.0.0.0/8, ::) and multicast are always refused unless
// listed in Policy.Allow. Loopback and private addresses are refused
// unless Policy.Private is set. The rest of the IANA special-purpose
// ranges (documentation, benchmarking, reserved, 6to4, ...) are refused
// as code.dny.dev/ssrf lists them; public addresses are allowed.
package egress
