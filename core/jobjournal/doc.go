// Package jobjournal is the append-only journal of embedded mode's job
// queue: one record per task-level write (a task enqueued, finished,
// archived or deleted), in segment files of the data dir, made durable in
// group commits: every writer that waits for its record shares one fsync
// with the writers that appended while the previous one ran.
//
// The queue's snapshot records the last sequence number it holds; on
// start the records after it are replayed over the snapshot, and once a
// newer snapshot is on disk the segments it covers are removed.
//
// It is a leaf: it imports nothing of Hatchgrid's.
package jobjournal
