package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// sealStoredSecrets brings every stored secret into the form the keys
// want, at start: secrets stored in plain text before a key was
// configured are sealed, those sealed with the old key of a rotation
// (encryption_key_old) or in an older form are sealed again with the key,
// and with no key but an old one they are unsealed. It covers the
// settings, OAuth2 client secrets and the columns plugins declared with
// AddSealedColumn, in one transaction, through the dialect's Scrub so
// that the plain text does not stay behind in the database files. A
// secret that opens with no configured key stops the start.
func (a *App) sealStoredSecrets(ctx context.Context) error {
	changed := 0
	rewrite := func() error {
		return a.InTx(ctx, func(ctx context.Context) error {
			n, err := a.resealSettings(ctx)
			if err != nil {
				return err
			}
			changed += n
			if n, err = a.resealClientSecrets(ctx); err != nil {
				return err
			}
			changed += n
			for _, col := range a.sealedColumns {
				if n, err = a.resealColumn(ctx, col); err != nil {
					return err
				}
				changed += n
			}
			return nil
		})
	}
	if needed, err := a.resealNeeded(ctx); err != nil || !needed {
		return err
	}
	if err := a.dialect.Scrub(a.data.Write, rewrite); err != nil {
		if changed == 0 {
			return err
		}
		a.logger.Warn("secrets: sealed, but the old database pages may linger until the next checkpoint", "error", err)
	}
	if changed == 0 {
		return nil
	}
	action := "sealed with the encryption key"
	if a.cfg.EncryptionKey == "" {
		action = "unsealed: no encryption key is configured"
	}
	a.logger.Info(fmt.Sprintf("secrets: %d stored secrets %s", changed, action))
	return a.collections.Reload(ctx)
}

// resealNeeded reports whether some stored secret is not in the form the
// keys want, without writing anything: most starts have nothing to do and
// should not pay for a scrub. A secret that opens with no configured key
// is an error.
func (a *App) resealNeeded(ctx context.Context) (bool, error) {
	found := a.settings.stale.Load()
	check := func(purpose SecretPurpose, stored string) (string, error) {
		_, stale, err := a.openSecret(purpose, stored)
		found = found || stale
		return stored, err
	}
	if _, err := a.eachClientSecret(ctx, check); err != nil {
		return false, err
	}
	for _, col := range a.sealedColumns {
		if _, err := a.eachColumnSecret(ctx, col, check); err != nil {
			return false, err
		}
	}
	return found, nil
}

// reseal returns stored in the form the keys want, and whether that
// differs.
func (a *App) reseal(purpose SecretPurpose, stored string) (string, bool, error) {
	plain, stale, err := a.openSecret(purpose, stored)
	if err != nil || !stale {
		return stored, false, err
	}
	next, err := a.SealSecret(purpose, plain)
	return next, err == nil, err
}

func (a *App) resealSettings(ctx context.Context) (int, error) {
	if !a.settings.stale.Load() {
		return 0, nil
	}
	if err := a.saveSettings(ctx, a.Settings()); err != nil {
		return 0, err
	}
	a.settings.stale.Store(false)
	n := 0
	s := a.Settings()
	for _, secret := range s.secrets() {
		if *secret.value != "" {
			n++
		}
	}
	return n, nil
}

func (a *App) resealClientSecrets(ctx context.Context) (int, error) {
	return a.eachClientSecret(ctx, func(purpose SecretPurpose, stored string) (string, error) {
		next, _, err := a.reseal(purpose, stored)
		return next, err
	})
}

// eachClientSecret calls fn with each OAuth2 client secret stored in
// _collections and stores what it returns in its place, editing the
// options JSON in place so that nothing else in it changes. It returns
// how many secrets changed.
func (a *App) eachClientSecret(ctx context.Context, fn func(SecretPurpose, string) (string, error)) (int, error) {
	var rows []collectionRow
	if err := a.DB(ctx).Select("id", "name", "options").Where(`"type" = ?`, CollectionAuth).Find(&rows).Error; err != nil {
		return 0, err
	}
	changed := 0
	for _, r := range rows {
		var opts map[string]any
		dec := json.NewDecoder(bytes.NewReader(r.Options))
		dec.UseNumber()
		if err := dec.Decode(&opts); err != nil {
			return 0, fmt.Errorf("collection %s options: %w", r.Name, err)
		}
		oauth, _ := opts["oauth2"].(map[string]any)
		providers, _ := oauth["providers"].([]any)
		n := 0
		for _, p := range providers {
			provider, _ := p.(map[string]any)
			stored, _ := provider["clientSecret"].(string)
			next, err := fn(SecretOAuth2ClientSecret, stored)
			if err != nil {
				return 0, fmt.Errorf("collection %s: %w", r.Name, err)
			}
			if next != stored {
				provider["clientSecret"] = next
				n++
			}
		}
		if n == 0 {
			continue
		}
		value, err := json.Marshal(opts)
		if err != nil {
			return 0, err
		}
		if err := a.DB(ctx).Model(&collectionRow{}).Where(`"id" = ?`, r.ID).Update("options", JSONRaw(value)).Error; err != nil {
			return 0, err
		}
		changed += n
	}
	return changed, nil
}

func (a *App) resealColumn(ctx context.Context, col sealedColumn) (int, error) {
	return a.eachColumnSecret(ctx, col, func(purpose SecretPurpose, stored string) (string, error) {
		next, _, err := a.reseal(purpose, stored)
		return next, err
	})
}

// eachColumnSecret calls fn with each value of a sealed column and
// stores what it returns in its place; it returns how many changed.
func (a *App) eachColumnSecret(ctx context.Context, col sealedColumn, fn func(SecretPurpose, string) (string, error)) (int, error) {
	type row struct {
		ID    string
		Value string
	}
	var rows []row
	err := a.DB(ctx).Table(col.table).Select(quote("id") + " AS id, " + quote(col.column) + " AS value").Find(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("secrets in %s.%s: %w", col.table, col.column, err)
	}
	changed := 0
	for _, r := range rows {
		next, err := fn(col.purpose, r.Value)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", col.table, r.ID, err)
		}
		if next == r.Value {
			continue
		}
		if err := a.DB(ctx).Table(col.table).Where(quote("id")+" = ?", r.ID).Update(col.column, next).Error; err != nil {
			return 0, err
		}
		changed++
	}
	return changed, nil
}
