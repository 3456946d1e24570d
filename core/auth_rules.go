package core

import (
	"context"
	"strings"
)

// The two rules of auth collections beyond the five API rules, enforced
// as PocketBase v0.39 does.

// errAuthRule answers a sign-in that the collection's authRule refuses.
func errAuthRule() error {
	return Errorf(CodeForbidden, "The request doesn't satisfy the collection requirements to authenticate.")
}

// CheckAuthRule applies the authRule of rec's collection to a sign-in (or
// a refresh) of rec whose credentials are already verified, right before
// a token is issued. The rule's record fields are rec's; @request.* is
// the request as it came, so @request.auth is whoever sent it (nobody for
// a sign-in, rec itself for a refresh). A superuser's request always
// passes (impersonation); otherwise an empty rule lets everyone in, a
// null rule nobody, and a rule rec does not match, or one that no longer
// compiles, is a 403.
func (s *AuthService) CheckAuthRule(ctx context.Context, rec *Record) error {
	req := RequestFrom(ctx)
	c := rec.collection
	if isSuperuser(req) || c == nil || c.Auth == nil {
		return nil
	}
	rule := c.Auth.AuthRule
	if rule == nil {
		return errAuthRule()
	}
	if strings.TrimSpace(*rule) == "" {
		return nil
	}
	ok, err := s.app.Records().matches(ctx, c, rec.ID(), *rule, req)
	if err != nil {
		if ErrorCodeOf(err) != CodeInvalid {
			return err
		}
		s.app.logger.Warn("invalid auth rule", "collection", c.Name, "error", err.Error())
		return errAuthRule()
	}
	if !ok {
		return errAuthRule()
	}
	return nil
}

// canManage reports whether req may manage the auth record id of c as
// superusers do (set email and verified directly, change the password
// without oldPassword): superusers may, and so may a signed-in caller
// when the record matches the collection's manageRule. A null or empty
// manageRule leaves it to superusers; a rule that no longer compiles
// grants nothing.
func (s *RecordService) canManage(ctx context.Context, c *Collection, id string, req *RequestInfo) (bool, error) {
	if !c.IsAuth() {
		return false, nil
	}
	if isSuperuser(req) {
		return true, nil
	}
	rule := c.Auth.ManageRule
	if rule == nil || strings.TrimSpace(*rule) == "" || req.Actor.IsGuest() {
		return false, nil
	}
	ok, err := s.matches(ctx, c, id, *rule, req)
	if ErrorCodeOf(err) == CodeInvalid {
		s.app.logger.Warn("invalid manage rule", "collection", c.Name, "error", err.Error())
		return false, nil
	}
	return ok, err
}

// mayManage reports whether a write of body to an auth record sets one of
// keys, which need manage access, and whether req could have it: only
// then is the manageRule worth a query.
func mayManage(c *Collection, body map[string]any, req *RequestInfo, keys ...string) bool {
	if !c.IsAuth() || isSuperuser(req) || req.Actor.IsGuest() {
		return false
	}
	if rule := c.Auth.ManageRule; rule == nil || strings.TrimSpace(*rule) == "" {
		return false
	}
	for _, k := range keys {
		if _, ok := body[k]; ok {
			return true
		}
	}
	return false
}
