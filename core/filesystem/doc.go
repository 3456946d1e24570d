// Package filesystem stores the files of records: a small Store interface
// with a local-disk implementation (S3 implements the same interface), the
// File type of uploads with PocketBase's file naming, content-type
// sniffing and thumbnails. It is a leaf package: it never imports core.
package filesystem
