// Package configs holds Hatchgrid's configuration data: the built-in
// defaults (embedded into the binary), a production example and the
// docker-compose file. The typed Config that reads them lives in core.
package configs

import _ "embed"

// Defaults is the content of hatchgrid.yaml, the lowest configuration layer.
//
//go:embed hatchgrid.yaml
var Defaults []byte
