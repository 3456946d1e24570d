package hatchgrid

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/dialect"
)

// dbPasswordPlaceholder stands for the database password in printed
// commands: the password itself never goes to the terminal or the logs.
const dbPasswordPlaceholder = "DB_PASSWORD"

// superuserHint is the command that creates the first superuser, written
// so that it works when pasted into a new shell: with the --config file
// and the HG_DATABASE_URL this server runs with (a URL's password
// replaced by a placeholder, which note then explains). Without them the
// command would open (and create) a SQLite database in the data dir.
func (h *Hatchgrid) superuserHint(cfg *core.Config) (cmd, note string) {
	var b strings.Builder
	if url := h.env(core.EnvName("database.url")); url != "" {
		redacted, had := dialect.RedactURL(url, dbPasswordPlaceholder)
		if redacted == "" {
			redacted = "..." // does not parse: print nothing of it
		}
		b.WriteString(core.EnvName("database.url") + "=" + shellQuote(redacted) + " ")
		if had {
			note = dbPasswordPlaceholder + " stands for the database password, which is not printed"
		}
	}
	b.WriteString("hatchgrid superuser upsert EMAIL PASSWORD")
	if h.configFile != "" {
		path := h.configFile
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		b.WriteString(" --config " + shellQuote(path))
	}
	b.WriteString(" --dir " + shellQuote(cfg.DataDir))
	return b.String(), note
}

// env returns the variable name of the environment the commands read.
func (h *Hatchgrid) env(name string) string {
	environ := h.environ
	if environ == nil {
		environ = os.Environ
	}
	for _, kv := range environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote quotes s for a POSIX shell, unless it needs none.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
