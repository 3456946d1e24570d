// Package backups is PocketBase's backups API for Hatchgrid: superusers
// list, create, upload, download, delete and restore zip archives of the
// data directory under /api/backups, and settings.backups.cron schedules
// automatic ones, of which settings.backups.cronMaxKeep are kept.
//
// A backup holds consistent online copies of the SQLite databases (data.db
// and auxiliary.db, made with VACUUM INTO) and the local file storage
// (storage/). Archives live in <data_dir>/backups, or under "backups/" in
// the bucket of settings.backups.s3 while that is enabled. Restoring one
// replaces the databases and storage and restarts the process.
//
// On PostgreSQL every endpoint answers 400: back it up with pg_dump and
// restore it with pg_restore.
package backups
