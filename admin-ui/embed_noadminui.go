//go:build noadminui

package adminui

import "io/fs"

// FS returns an empty file system: this binary was built without the
// dashboard.
func FS() fs.FS { return emptyFS{} }
