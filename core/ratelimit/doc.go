// Package ratelimit counts events per key in fixed time windows: the
// request rate limits of settings.rateLimits and the brute-force guard of
// sign-ins both build on it.
//
// Store is the one operation a rate limiter needs; Counter adds reading and
// clearing a key for the brute-force guard. Memory implements both in the
// process; Redis implements both with the same semantics in a Redis shared
// by a cluster; Failover counts in one (Redis) and, while it fails, in the
// other (Memory).
//
// The package is a leaf: it knows nothing of the App, HTTP or the database.
package ratelimit
