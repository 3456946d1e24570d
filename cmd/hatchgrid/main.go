// Command hatchgrid is the Hatchgrid server and its tools.
package main

import (
	"os"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/plugins/audit"
	"github.com/hatchgrid/hatchgrid/plugins/backups"
	"github.com/hatchgrid/hatchgrid/plugins/migratecmd"
	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
)

func main() {
	os.Exit(hatchgrid.New(hatchgrid.WithPlugins(
		&webhooks.Plugin{},
		&backups.Plugin{},
		&audit.Plugin{},
		&migratecmd.Plugin{},
	)).Execute())
}
