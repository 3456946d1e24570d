//go:build race

package core_test

// raceSlowdown scales the deadlines of tests that catch hangs: code under
// the race detector runs several times slower (a 100,000-task restore
// took over a minute with -race on a loaded 2-core machine, 9 s without),
// and a hang is still a hang at ten times the bound.
const raceSlowdown = 10
