//go:build !race

package core_test

// raceSlowdown scales the deadlines of tests that catch hangs; see
// race_on_test.go.
const raceSlowdown = 1
