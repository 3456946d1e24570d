// Package ratelimit counts events per key in fixed time windows: the
// request rate limits of settings.rateLimits and the brute-force guard of
// sign-ins both build on it.
//
// Store is the one operation a rate limiter needs; Counter adds reading and
// clearing a key for the brute-force guard. Memory implements both in the
// process; a Redis implementation for clusters fits behind the same
// interfaces.
//
// The package is a leaf: it knows nothing of the App, HTTP or the database.
package ratelimit
