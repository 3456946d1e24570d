package core

// PlausibleID reports whether id could name a row Hatchgrid created: a
// non-empty string of at most 64 letters, digits, '_' and '-' (generated
// ids are 15 lowercase letters and digits; collection ids "pbc_..."). A
// handler that looks rows up by an id from the URL answers 404 for any
// other without querying: a NUL byte, for one, is an error on PostgreSQL.
func PlausibleID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
