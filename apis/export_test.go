package apis

import (
	"maps"
	"slices"
)

// BodyMediaTypes returns the media types a record write's body may have,
// sorted, for the rule-bypass matrix. Tests only.
func BodyMediaTypes() []string { return slices.Sorted(maps.Keys(bodyReaders)) }
