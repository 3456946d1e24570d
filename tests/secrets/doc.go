// Package secrets holds the end-to-end tests of secrets at rest: with an
// encryption key configured, no secret of the settings, webhooks or OAuth2
// providers may be read from the database files (the SQLite files, WAL
// included, or a pg_dump), secrets stored before the key are sealed at
// the first start with it, a key rotation reseals them, and the settings
// keep working across restarts. See docs/security.md.
package secrets
