// Package coretest gives tests a fresh, bootstrapped App: SQLite in the
// test's temp dir by default, or a throwaway PostgreSQL schema when
// HG_TEST_DB=postgres (server at HG_TEST_POSTGRES_URL). Outside CI an
// unreachable PostgreSQL skips those tests with one loud line; with CI=true
// it fails them.
package coretest
