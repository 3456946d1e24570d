//go:build !unix

package backups

import "errors"

// execSelf is not available here: the process stops and must be started
// again by its supervisor.
func execSelf() error {
	return errors.New("restarting after a restore needs a Unix system; start the server again")
}
