package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// Built-in cron entries, registered for every App. Each is idempotent: a
// tick that runs twice, or on two instances, removes nothing the first
// did not.
const (
	CronCleanupAuth  = "cleanup.auth"  // expired _otps and _mfas rows
	CronCleanupLogs  = "cleanup.logs"  // request logs past logs.maxDays
	CronCleanupFiles = "cleanup.files" // stored files of deleted collections or records
)

const (
	// authCleanupFallback is how long OTP and MFA rows of a collection
	// that no longer exists (or is no longer an auth collection) are kept.
	authCleanupFallback = time.Hour
	// orphanFileMinAge protects files uploaded moments ago, whose record
	// may not be committed yet.
	orphanFileMinAge = time.Hour
	// orphanCheckBatch is how many record ids one existence query checks.
	orphanCheckBatch = 500
)

// registerBuiltinJobs adds the built-in cleanup cron entries.
func (a *App) registerBuiltinJobs() {
	opts := []JobOption{JobQueue(QueueLow), JobMaxRetry(3), JobTimeout(30 * time.Minute)}
	must := func(err error) {
		if err != nil {
			panic(err) // the specs are constants
		}
	}
	must(a.cron.Add(CronCleanupAuth, "*/5 * * * *", func(ctx context.Context, _ *Job) error {
		_, err := a.cleanupAuth(ctx)
		return err
	}, opts...))
	must(a.cron.Add(CronCleanupLogs, "@hourly", func(ctx context.Context, _ *Job) error {
		_, err := a.cleanupLogs(ctx)
		return err
	}, opts...))
	must(a.cron.Add(CronCleanupFiles, "@daily", func(ctx context.Context, _ *Job) error {
		_, err := a.cleanupFiles(ctx)
		return err
	}, opts...))
}

// cleanupAuth deletes OTPs and MFA first factors older than their
// collection's otp.duration and mfa.duration; rows of unknown collections
// go after authCleanupFallback. It returns how many rows it removed.
func (a *App) cleanupAuth(ctx context.Context) (int64, error) {
	now := a.Now()
	cutoff := func(seconds int64) string {
		return FormatTime(now.Add(-time.Duration(seconds) * time.Second))
	}
	var known []string
	var otps, mfas int64
	var errs []error
	for _, c := range a.collections.All() {
		if !c.IsAuth() || c.Auth == nil {
			continue
		}
		known = append(known, c.ID)
		res := a.DB(ctx).Where(`"collectionRef" = ? AND "created" < ?`, c.ID, cutoff(c.Auth.OTPOptions().Duration)).Delete(&otpRow{})
		otps += res.RowsAffected
		errs = append(errs, res.Error)
		res = a.DB(ctx).Where(`"collectionRef" = ? AND "created" < ?`, c.ID, cutoff(c.Auth.MFAOptions().Duration)).Delete(&mfaRow{})
		mfas += res.RowsAffected
		errs = append(errs, res.Error)
	}
	fallback := FormatTime(now.Add(-authCleanupFallback))
	for _, model := range []any{&otpRow{}, &mfaRow{}} {
		q := a.DB(ctx).Where(`"created" < ?`, fallback)
		if len(known) > 0 {
			q = q.Where(`"collectionRef" NOT IN ?`, known)
		}
		res := q.Delete(model)
		if _, ok := model.(*otpRow); ok {
			otps += res.RowsAffected
		} else {
			mfas += res.RowsAffected
		}
		errs = append(errs, res.Error)
	}
	if err := errors.Join(errs...); err != nil {
		return otps + mfas, fmt.Errorf("cleanup auth: %w", err)
	}
	if otps+mfas > 0 {
		a.logger.InfoContext(ctx, "removed expired auth rows", "component", "jobs", "job", CronCleanupAuth, "otps", otps, "mfas", mfas)
	}
	return otps + mfas, nil
}

// cleanupLogs deletes request logs older than the settings' logs.maxDays
// (0 keeps them all, as no new ones are written then either).
func (a *App) cleanupLogs(ctx context.Context) (int64, error) {
	days := a.Settings().Logs.MaxDays
	if days <= 0 {
		return 0, nil
	}
	n, err := a.requestLogs.DeleteOlderThan(ctx, a.Now().AddDate(0, 0, -days))
	if err != nil {
		return n, fmt.Errorf("cleanup logs: %w", err)
	}
	if n > 0 {
		a.logger.InfoContext(ctx, "removed old request logs", "component", "jobs", "job", CronCleanupLogs, "count", n, "maxDays", days)
	}
	return n, nil
}

// cleanupFiles deletes stored files ("<collectionId>/<recordId>/...")
// whose collection or record no longer exists, unless they were written
// less than orphanFileMinAge ago (an upload whose record is not committed
// yet). It returns how many files it removed.
func (a *App) cleanupFiles(ctx context.Context) (int, error) {
	store := a.fileStore()
	if store == nil {
		return 0, nil
	}
	keys, err := store.List(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("cleanup files: list: %w", err)
	}
	// keys by collection id, then record id.
	byCol := map[string]map[string][]string{}
	for _, k := range keys {
		parts := strings.SplitN(k, "/", 3)
		if len(parts) < 3 {
			continue // not a record file
		}
		recs := byCol[parts[0]]
		if recs == nil {
			recs = map[string][]string{}
			byCol[parts[0]] = recs
		}
		recs[parts[1]] = append(recs[parts[1]], k)
	}
	if len(byCol) == 0 {
		return 0, nil
	}

	// Collection existence by id, from the database rather than the cache,
	// so a collection another instance just created is not taken for gone.
	colIDs := make([]string, 0, len(byCol))
	for id := range byCol {
		colIDs = append(colIDs, id)
	}
	existing := map[string]bool{}
	for start := 0; start < len(colIDs); start += orphanCheckBatch {
		batch := colIDs[start:min(start+orphanCheckBatch, len(colIDs))]
		var found []string
		if err := a.DB(ctx).Table("_collections").Where(`"id" IN ?`, batch).Pluck("id", &found).Error; err != nil {
			return 0, fmt.Errorf("cleanup files: find collections: %w", err)
		}
		for _, id := range found {
			existing[id] = true
		}
	}

	var orphans []string
	for colID, recs := range byCol {
		if !existing[colID] {
			for _, ks := range recs {
				orphans = append(orphans, ks...)
			}
			continue
		}
		c, err := a.collections.Find(colID)
		if err != nil || c.ID != colID || c.IsView() {
			// Not in this instance's cache yet, or a view: leave it be.
			continue
		}
		recIDs := make([]string, 0, len(recs))
		for id := range recs {
			recIDs = append(recIDs, id)
		}
		for start := 0; start < len(recIDs); start += orphanCheckBatch {
			batch := recIDs[start:min(start+orphanCheckBatch, len(recIDs))]
			var found []string
			if err := a.DB(ctx).Table(c.Name).Where(`"id" IN ?`, batch).Pluck("id", &found).Error; err != nil {
				return 0, fmt.Errorf("cleanup files: find records of %s: %w", c.Name, err)
			}
			have := make(map[string]bool, len(found))
			for _, id := range found {
				have[id] = true
			}
			for _, id := range batch {
				if !have[id] {
					orphans = append(orphans, recs[id]...)
				}
			}
		}
	}

	cutoff := a.Now().Add(-orphanFileMinAge)
	removed := 0
	var errs []error
	for _, k := range orphans {
		obj, err := store.Open(ctx, k)
		if errors.Is(err, filesystem.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		young := obj.ModTime.After(cutoff)
		obj.Close()
		if young {
			continue
		}
		if err := store.Delete(ctx, k); err != nil {
			if !errors.Is(err, filesystem.ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		removed++
	}
	if removed > 0 {
		a.logger.InfoContext(ctx, "removed orphaned files", "component", "jobs", "job", CronCleanupFiles, "count", removed)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("cleanup files: %w", err)
	}
	return removed, nil
}
