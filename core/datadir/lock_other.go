//go:build !unix && !windows

package datadir

import "os"

func tryLock(*os.File, bool) (bool, error) { return false, ErrUnsupported }

func unlock(*os.File) error { return nil }
