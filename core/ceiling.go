package core

import (
	"context"
	"strings"
)

// The ceiling on delegated admin (docs/security.md): no admin resource
// short of superuser may read or mint a superuser credential, change the
// system collections, or run SQL outside what a view of user collections
// needs. The checks live in the services, so that every route and plugin
// calling them is held to it.

// delegatedAdmin reports whether the caller of ctx acts through delegated
// rights and is held to the ceiling: a signed-in record that is not a
// superuser, or a guest inside an HTTP request. Superusers, the system
// actor and Go code acting without an actor outside a request (migrations,
// the CLI, a plugin's own work) are not.
func delegatedAdmin(ctx context.Context) bool {
	a := ActorFrom(ctx)
	if a.IsSuperuser() {
		return false
	}
	return !a.IsGuest() || ClientIPFrom(ctx) != ""
}

// errSuperusersOnly is the refusal of something only superusers may do.
func errSuperusersOnly(what string) error {
	return Errorf(CodeForbidden, "Only superusers can %s.", what)
}

// superuserOnlySettings names the settings only superusers may change,
// and reports which of them differ between old and next: smtp (where
// mail with reset links and OTPs goes, and who gets the SMTP password),
// meta.appURL (where those links point), s3 and backups (where files and
// the backups of the whole database, secrets included, are written).
func superuserOnlySettings(old, next Settings) []string {
	var changed []string
	if old.SMTP != next.SMTP {
		changed = append(changed, "smtp")
	}
	if old.Meta.AppURL != next.Meta.AppURL {
		changed = append(changed, "meta.appURL")
	}
	if old.S3 != next.S3 {
		changed = append(changed, "s3")
	}
	if old.Backups.Cron != next.Backups.Cron || old.Backups.CronMaxKeep != next.Backups.CronMaxKeep || old.Backups.S3 != next.Backups.S3 {
		changed = append(changed, "backups")
	}
	return changed
}

// checkSettingsCeiling refuses a delegated caller's change of the
// superuser-only settings.
func checkSettingsCeiling(ctx context.Context, old, next Settings) error {
	if !delegatedAdmin(ctx) {
		return nil
	}
	if changed := superuserOnlySettings(old, next); len(changed) > 0 {
		return errSuperusersOnly("change the " + strings.Join(changed, ", ") + " settings")
	}
	return nil
}
