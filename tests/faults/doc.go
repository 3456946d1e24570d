// Package faults holds fault tests that run the real hatchgrid binary and
// break what it depends on: the process is killed during writes, a private
// PostgreSQL cluster is stopped under load, a private Redis is stopped in
// Redis mode, and slow or oversized clients are thrown at the listener;
// and a soak test runs the container image's command line through cycles
// of use, SIGINT and restart (HG_SOAK_CYCLE sets a cycle's length, two
// minutes by default).
//
// The tests carry the build tag "faults", so a plain `go test ./...` does
// not build or run them; `make test-faults` does, and prints the counts
// each test compares (acknowledged writes against those found, latencies,
// deliveries). A tool a test needs (redis-server, initdb, a PostgreSQL at
// HG_TEST_POSTGRES_URL) that is missing fails the test when CI=true and
// skips it with one loud line otherwise.
package faults
