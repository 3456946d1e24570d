package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"gorm.io/gorm/clause"

	"github.com/hatchgrid/hatchgrid/core/security"
)

// authOriginRow is a row of _authOrigins: a device a record signed in from.
type authOriginRow struct {
	ID            string `gorm:"column:id;primaryKey"`
	CollectionRef string `gorm:"column:collectionRef"`
	RecordRef     string `gorm:"column:recordRef"`
	Fingerprint   string `gorm:"column:fingerprint"`
	Created       string `gorm:"column:created"`
	Updated       string `gorm:"column:updated"`
}

func (authOriginRow) TableName() string { return "_authOrigins" }

// authAlertEnabled reports whether the collection sends login alerts
// (PocketBase's default is on).
func authAlertEnabled(c *Collection) bool {
	opts := struct {
		Enabled *bool `json:"enabled"`
	}{}
	if len(c.Auth.AuthAlert) > 0 {
		_ = json.Unmarshal(c.Auth.AuthAlert, &opts)
	}
	return opts.Enabled == nil || *opts.Enabled
}

// NoteSignIn remembers the device (IP and user agent) rec signed in from
// and, when the collection's login alerts are on and the record has signed
// in before from other devices only, emails it a login alert.
func (s *AuthService) NoteSignIn(ctx context.Context, rec *Record, ip, userAgent string) error {
	sum := sha256.Sum256([]byte(ip + "\x00" + userAgent))
	fingerprint := hex.EncodeToString(sum[:])
	c := rec.collection
	db := s.app.DB(ctx)

	var known []authOriginRow
	if err := db.Where(`"collectionRef" = ? AND "recordRef" = ?`, c.ID, rec.ID()).Find(&known).Error; err != nil {
		return err
	}
	now := FormatTime(s.app.Now())
	for _, o := range known {
		if o.Fingerprint == fingerprint {
			return db.Model(&authOriginRow{}).Where(`"id" = ?`, o.ID).Update("updated", now).Error
		}
	}
	row := &authOriginRow{ID: security.NewID(), CollectionRef: c.ID, RecordRef: rec.ID(), Fingerprint: fingerprint, Created: now, Updated: now}
	// Two sign-ins from a new device at once both get here: the second
	// insert does nothing (and, on PostgreSQL, leaves the transaction
	// usable, which a unique violation would not).
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(row).Error; err != nil {
		return err
	}
	if len(known) == 0 || !authAlertEnabled(c) || rec.GetString("email") == "" {
		return nil // the first device is no news
	}
	// Queued as a job, so a slow mail server never delays the sign-in.
	info := fmt.Sprintf("%s, %s", ip, userAgent)
	s.sendAuthEmail(ctx, rec, AuthEmailLoginAlert, "", map[string]string{EmailPlaceholderAlertInfo: info})
	return nil
}
