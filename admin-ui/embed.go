//go:build !noadminui

// Package adminui embeds the built dashboard (admin-ui/dist) into the
// binary. Build with -tags noadminui to leave it out.
package adminui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS returns the built dashboard, rooted at dist/.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return emptyFS{}
	}
	return sub
}
