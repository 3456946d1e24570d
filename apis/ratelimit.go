package apis

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

// The audiences of a rate-limit rule besides "" (everyone).
const (
	audienceGuest = "@guest"
	audienceAuth  = "@auth"
)

// routeKey is a route as echo knows it: method and path pattern.
type routeKey struct{ method, path string }

// collectionTags are PocketBase's rate-limit tags of the collection
// routes: a rule labelled "<collection>:<tag>" or "*:<tag>" limits them.
// "auth" groups every way of signing in.
var collectionTags = map[routeKey][]string{
	{"GET", "/api/collections/:collection/records"}:                 {"list"},
	{"POST", "/api/collections/:collection/records"}:                {"create"},
	{"GET", "/api/collections/:collection/records/:id"}:             {"view"},
	{"PATCH", "/api/collections/:collection/records/:id"}:           {"update"},
	{"DELETE", "/api/collections/:collection/records/:id"}:          {"delete"},
	{"GET", "/api/files/:collection/:recordId/:filename"}:           {"file"},
	{"HEAD", "/api/files/:collection/:recordId/:filename"}:          {"file"},
	{"GET", "/api/collections/:collection/auth-methods"}:            {"listAuthMethods"},
	{"POST", "/api/collections/:collection/auth-refresh"}:           {"authRefresh"},
	{"POST", "/api/collections/:collection/auth-with-password"}:     {"authWithPassword", "auth"},
	{"POST", "/api/collections/:collection/auth-with-oauth2"}:       {"authWithOAuth2", "auth"},
	{"POST", "/api/collections/:collection/auth-with-otp"}:          {"authWithOTP", "auth"},
	{"POST", "/api/collections/:collection/request-otp"}:            {"requestOTP"},
	{"POST", "/api/collections/:collection/request-password-reset"}: {"requestPasswordReset"},
	{"POST", "/api/collections/:collection/confirm-password-reset"}: {"confirmPasswordReset"},
	{"POST", "/api/collections/:collection/request-verification"}:   {"requestVerification"},
	{"POST", "/api/collections/:collection/confirm-verification"}:   {"confirmVerification"},
	{"POST", "/api/collections/:collection/request-email-change"}:   {"requestEmailChange"},
	{"POST", "/api/collections/:collection/confirm-email-change"}:   {"confirmEmailChange"},
}

// rateLimit applies settings.rateLimits, read on every request so that a
// change applies at once. It must run after loadAuth: rules can target
// guests or authenticated callers, and superusers are never limited.
//
// As in PocketBase, two rules can count one request: the most specific
// path rule ("METHOD /path", "METHOD /prefix/", "/path", "/prefix/", in
// that order, the longest prefix first) and, on collection routes, the
// most specific tag rule ("users:create" before "*:create"; for several
// tags, the route's own before "auth"). Each rule counts per client IP;
// tag rules also per collection and route. A refused request gets
// PocketBase's 429 and a Retry-After header.
//
// The middleware also sets Retry-After on any error caused by a
// core.RetryAfterError, such as the brute-force guard's.
func rateLimit(app *core.App) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := checkRateLimits(app, c)
			if err == nil {
				err = next(c)
			}
			var ra *core.RetryAfterError
			if err != nil && errors.As(err, &ra) && !c.Response().Committed {
				secs := max(1, int64((ra.After+time.Second-1)/time.Second))
				c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			}
			return err
		}
	}
}

func checkRateLimits(app *core.App, c echo.Context) error {
	req := c.Request()
	return checkRequestLimits(app, c, limitedRequest{
		method: req.Method, path: req.URL.Path, route: c.Path(), collection: c.Param("collection"),
	})
}

// limitedRequest is what the rate limits look at in a request: its method
// and path, the route pattern echo matched and the collection in it.
type limitedRequest struct {
	method, path, route, collection string
}

// checkRequestLimits counts r against settings.rateLimits for c's caller
// and client IP: its path rule and, on a collection route, its tag rule.
// A batch item is checked through it as the request it stands for, so
// that a batch cannot multiply a collection's limits.
func checkRequestLimits(app *core.App, c echo.Context, r limitedRequest) error {
	settings := app.RateLimitSettings()
	if !settings.Enabled || len(settings.Rules) == 0 {
		return nil
	}
	actor := core.ActorFrom(c.Request().Context())
	if actor.IsSuperuser() {
		return nil
	}
	ip := c.RealIP()
	if ip == "" {
		return nil
	}
	audience := audienceGuest
	if !actor.IsGuest() {
		audience = audienceAuth
	}

	if rule, ok := matchPathRule(settings.Rules, audience, r.method, r.path); ok {
		if err := consumeRateLimit(app, c, rule, "", ip); err != nil {
			return err
		}
	}
	tags := collectionTags[routeKey{r.method, r.route}]
	if len(tags) == 0 {
		return nil
	}
	col, err := app.Collections().Find(r.collection)
	if err != nil {
		return nil // the handler answers 404
	}
	if rule, ok := matchTagRule(settings.Rules, audience, col.Name, tags); ok {
		return consumeRateLimit(app, c, rule, col.ID+" "+tags[0], ip)
	}
	return nil
}

// consumeRateLimit counts the request against rule for ip in scope. The
// key holds the rule's limits, so a changed rule counts afresh. A failing
// store lets the request through.
func consumeRateLimit(app *core.App, c echo.Context, rule core.RateLimitRule, scope, ip string) error {
	key := "rl\x00" + rule.Label + "\x00" + rule.Audience + "\x00" +
		strconv.Itoa(rule.MaxRequests) + "/" + strconv.FormatInt(rule.Duration, 10) + "\x00" + scope + "\x00" + ip
	window := time.Duration(rule.Duration) * time.Second
	ok, retry, err := app.RateLimiter().Allow(c.Request().Context(), key, rule.MaxRequests, window)
	if err != nil {
		app.Logger().Warn("rate limit store failed; request let through", "error", err, "rule", rule.Label)
		return nil
	}
	if ok {
		return nil
	}
	return &core.Error{Code: core.CodeRateLimited, Message: "Too Many Requests.", Err: &core.RetryAfterError{After: retry}}
}

func appliesTo(rule core.RateLimitRule, audience string) bool {
	return rule.Audience == "" || rule.Audience == audience
}

// matchPathRule returns the most specific path rule for a request:
// "METHOD /path", then "METHOD /prefix/", "/path" and "/prefix/", the
// longest prefix first. A prefix "/a/" also matches "/a".
func matchPathRule(rules []core.RateLimitRule, audience, method, path string) (core.RateLimitRule, bool) {
	best, bestRank, bestLen := -1, 0, 0
	for i, r := range rules {
		if !appliesTo(r, audience) {
			continue
		}
		m, p, hasMethod := strings.Cut(r.Label, " ")
		if !hasMethod {
			p = r.Label
		} else if m != method {
			continue
		}
		if p == "" || p[0] != '/' {
			continue // a tag
		}
		var rank int
		switch {
		case p == path:
			rank = 0
		case p[len(p)-1] == '/' && (strings.HasPrefix(path, p) || path == p[:len(p)-1]):
			rank = 1
		default:
			continue
		}
		if !hasMethod {
			rank += 2
		}
		if best < 0 || rank < bestRank || (rank == bestRank && len(p) > bestLen) {
			best, bestRank, bestLen = i, rank, len(p)
		}
	}
	if best < 0 {
		return core.RateLimitRule{}, false
	}
	return rules[best], true
}

// matchTagRule returns the most specific tag rule for a collection route
// with tags: "<collection>:<tag>" before "*:<tag>", and the tags in order.
func matchTagRule(rules []core.RateLimitRule, audience, collection string, tags []string) (core.RateLimitRule, bool) {
	best, bestRank := -1, 0
	for i, r := range rules {
		if !appliesTo(r, audience) {
			continue
		}
		owner, tag, ok := strings.Cut(r.Label, ":")
		if !ok || (owner != "*" && !strings.EqualFold(owner, collection)) {
			continue
		}
		for j, t := range tags {
			if t != tag {
				continue
			}
			rank := j
			if owner == "*" {
				rank += len(tags)
			}
			if best < 0 || rank < bestRank {
				best, bestRank = i, rank
			}
		}
	}
	if best < 0 {
		return core.RateLimitRule{}, false
	}
	return rules[best], true
}
