package migrations

import (
	"bytes"
	"encoding/json"

	"github.com/hatchgrid/hatchgrid/core/security"
)

// scrubLogSecrets replaces the values of secret query parameters (file
// tokens, OAuth2 codes, ...) in the request logs stored before the logger
// did it: their URLs, referers and messages. Logs are readable with
// admin:logs, which must not yield a superuser's file token.
func scrubLogSecrets() Migration {
	return Migration{
		Name:   "20261127120000_scrub_logs",
		Target: Logs,
		Up: func(tx *Tx) error {
			type row struct {
				ID      string
				Message string
				Data    string
			}
			last := ""
			for {
				var rows []row
				err := tx.DB.Raw(`SELECT "id", "message", CAST("data" AS TEXT) AS "data" FROM "_logs"
					WHERE "id" > ? AND CAST("data" AS TEXT) LIKE ? ORDER BY "id" LIMIT 500`, last, "%?%").Scan(&rows).Error
				if err != nil || len(rows) == 0 {
					return err
				}
				for _, r := range rows {
					last = r.ID
					data, changed, err := scrubLogData(r.Data)
					if err != nil {
						continue // not an object: nothing a request log would hold
					}
					message := security.ScrubURL(r.Message)
					if !changed && message == r.Message {
						continue
					}
					err = tx.Exec(`UPDATE "_logs" SET "message" = ?, "data" = ? WHERE "id" = ?`, message, data, r.ID)
					if err != nil {
						return err
					}
				}
			}
		},
		// Down has nothing to restore: the values are gone on purpose.
		Down: func(*Tx) error { return nil },
	}
}

// scrubLogData scrubs the url and referer of a request log's data.
func scrubLogData(raw string) (string, bool, error) {
	var data map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &data); err != nil {
		return "", false, err
	}
	changed := false
	for _, key := range []string{"url", "referer"} {
		var s string
		if json.Unmarshal(data[key], &s) != nil {
			continue
		}
		if scrubbed := security.ScrubURL(s); scrubbed != s {
			data[key], _ = marshalText(scrubbed)
			changed = true
		}
	}
	out, err := marshalText(data)
	return string(out), changed, err
}

// marshalText encodes v without escaping &, < and >, as the logger wrote
// the data.
func marshalText(v any) (json.RawMessage, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSpace(out.Bytes()), err
}
