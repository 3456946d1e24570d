// Package datadir guards a Hatchgrid data directory: one serving process
// per directory, enforced with an exclusive OS file lock that the kernel
// releases when the process dies, and a record of who holds it (pid,
// listening address, command) so that a second process can say whom it
// met, and the CLI can find the running server; and a marker of the
// database the directory was first used with, so that a command missing
// the database URL does not start a new, empty database beside the data.
//
// It is a leaf: it imports nothing of Hatchgrid's.
package datadir
