package core

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/security"
)

// Secrets at rest. With an encryption key configured (encryption_key,
// HG_ENCRYPTION_KEY), every secret Hatchgrid stores is sealed with it
// (AES-256-GCM) and bound to its purpose: the SMTP password and the S3
// secrets in the settings, OAuth2 client secrets in the collections and
// whatever plugins declare with AddSealedColumn (webhook secrets). The
// App opens them when it needs them; they never leave the server.

// The forms of a stored secret, told apart by their prefix.
const (
	// sealedPrefix starts a value sealed with the key and bound to its
	// purpose.
	sealedPrefix = "hgenc2:"
	// sealedPrefixV1 starts an OAuth2 client secret sealed before values
	// were bound to their purpose; it opens, and is sealed again.
	sealedPrefixV1 = "hgenc1:"
	// plainPrefix escapes a plain-text secret (no key configured) that
	// starts like a sealed one, so that it is never taken for one.
	plainPrefix = "hgplain:"
)

// SecretPurpose names what a stored secret is for. A sealed value is
// bound to its purpose: copied into a field of another purpose (say an
// OAuth2 client secret into the SMTP password, to have the server send it
// to a mail relay of one's choosing) it does not open.
type SecretPurpose string

// The secrets Hatchgrid stores.
const (
	SecretSMTPPassword       SecretPurpose = "settings.smtp.password"
	SecretS3                 SecretPurpose = "settings.s3.secret"
	SecretBackupsS3          SecretPurpose = "settings.backups.s3.secret"
	SecretOAuth2ClientSecret SecretPurpose = "oauth2.clientSecret"
	SecretWebhook            SecretPurpose = "webhooks.secret"
)

// ErrSecretKey is the cause of the error of a sealed secret that opens
// with none of the configured keys.
var ErrSecretKey = errors.New("a stored secret is sealed with a key that is not configured")

// SealSecret returns plain as it is stored for purpose: sealed with the
// encryption key when one is configured, as it is otherwise. An empty
// secret stays empty.
func (a *App) SealSecret(purpose SecretPurpose, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	if a.cfg.EncryptionKey == "" {
		if looksStored(plain) {
			return plainPrefix + plain, nil
		}
		return plain, nil
	}
	sealed, err := security.EncryptFor([]byte(plain), a.cfg.EncryptionKey, []byte(purpose))
	if err != nil {
		return "", err
	}
	return sealedPrefix + sealed, nil
}

// OpenSecret returns the plain text of a secret stored for purpose. A
// sealed value that opens with none of the configured keys (the key and
// the old key of a rotation) is an error wrapping ErrSecretKey.
func (a *App) OpenSecret(purpose SecretPurpose, stored string) (string, error) {
	plain, _, err := a.openSecret(purpose, stored)
	return plain, err
}

// openSecret is OpenSecret that also reports whether stored should be
// written again in the form the configuration wants: sealed with the key
// when one is set, plain when none is.
func (a *App) openSecret(purpose SecretPurpose, stored string) (plain string, stale bool, err error) {
	key := a.cfg.EncryptionKey
	switch {
	case stored == "":
		return "", false, nil
	case strings.HasPrefix(stored, plainPrefix):
		return stored[len(plainPrefix):], key != "", nil
	case strings.HasPrefix(stored, sealedPrefix):
		return a.unseal(purpose, stored[len(sealedPrefix):], []byte(purpose), false)
	case strings.HasPrefix(stored, sealedPrefixV1):
		return a.unseal(purpose, stored[len(sealedPrefixV1):], nil, true)
	}
	return stored, key != "", nil
}

// unseal opens body with the key or the old key, with ad; a value opened
// with the old key, in an old form or while no key is set is stale.
func (a *App) unseal(purpose SecretPurpose, body string, ad []byte, oldForm bool) (string, bool, error) {
	for i, key := range []string{a.cfg.EncryptionKey, a.cfg.EncryptionKeyOld} {
		if key == "" {
			continue
		}
		if plain, err := security.DecryptFor(body, key, ad); err == nil {
			return string(plain), oldForm || i == 1 || a.cfg.EncryptionKey == "", nil
		}
	}
	return "", false, fmt.Errorf("%w: the %s; set encryption_key (HG_ENCRYPTION_KEY) to the key it was sealed with, "+
		"or, to rotate, encryption_key_old (HG_ENCRYPTION_KEY_OLD)", ErrSecretKey, purpose)
}

// looksStored reports whether a plain text could be taken for a stored
// form of a secret.
func looksStored(s string) bool {
	return strings.HasPrefix(s, sealedPrefix) || strings.HasPrefix(s, sealedPrefixV1) || strings.HasPrefix(s, plainPrefix)
}

// sealedColumn is a table column whose values are secrets of purpose,
// declared with AddSealedColumn.
type sealedColumn struct {
	table, column string
	purpose       SecretPurpose
}

// AddSealedColumn declares that column of table (which has an "id"
// primary key) holds secrets stored with SealSecret for purpose. At
// every start, after the migrations, the App seals the values stored in
// plain text before a key was configured and seals again those sealed
// with the old key of a rotation, as it does for its own secrets. Call it
// from Plugin.Register.
func (a *App) AddSealedColumn(table, column string, purpose SecretPurpose) {
	a.sealedColumns = append(a.sealedColumns, sealedColumn{table: table, column: column, purpose: purpose})
}
