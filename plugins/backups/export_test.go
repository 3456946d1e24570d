package backups

// Hold marks key as a running backup, as Create does, until the returned
// func is called; false when another one runs.
func (p *Plugin) Hold(key string) (func(), bool) {
	if !p.acquire(key) {
		return nil, false
	}
	return p.release, true
}
