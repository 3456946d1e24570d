// Command hatchgrid is the Hatchgrid server and its tools.
package main

import (
	"os"

	"github.com/hatchgrid/hatchgrid"
)

func main() {
	os.Exit(hatchgrid.New().Execute())
}
