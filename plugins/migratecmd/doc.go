// Package migratecmd keeps collection changes as migration files: with
// automigrate on (`serve --dev`, --automigrate or plugins.migratecmd.automigrate)
// every collection create, update and delete committed through the API or
// the dashboard writes one declarative JSON file to the migrations dir, and
// every file found there is registered as a migration, so that `migrate up`
// and `serve` apply the pending ones on another instance, on SQLite or
// PostgreSQL alike. It also adds `migrate collections`, which writes a
// snapshot of every non-system collection. See docs/migrations.md.
package migratecmd
