//go:build !unix

package hatchgrid

import (
	"net"

	"github.com/hatchgrid/hatchgrid/core/datadir"
)

// handover is Unix-only: elsewhere serve cannot re-execute itself, and a
// restore stops the server for its supervisor to start again.
type handover struct{}

func newHandover(net.Listener, *datadir.Lock, *stopSignals, []string) (*handover, error) {
	return nil, nil
}

func (*handover) restart() error { return nil }

// inherited is never set outside Unix.
type inherited struct {
	ln   net.Listener
	lock *datadir.Lock
}

func takeHandover(string) (*inherited, error) { return nil, nil }
