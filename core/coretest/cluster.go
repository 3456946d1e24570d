package coretest

import (
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// NewCluster returns n bootstrapped Apps that form one cluster, as n
// instances behind a load balancer would: the same database (one
// PostgreSQL schema, or one SQLite data dir), and a Redis database claimed
// for t with a key prefix of their own. opts apply to each App; build
// members that differ with NewApp and InCluster.
func NewCluster(t testing.TB, n int, opts ...Option) []*core.App {
	t.Helper()
	redisURL := NewRedisDB(t)
	prefix := "hgtest_" + security.RandomString(10, security.IDAlphabet)
	first := NewApp(t, append(opts, WithConfig(func(c *core.Config) {
		c.Redis.URL, c.Redis.Prefix = redisURL, prefix
	}))...)
	apps := []*core.App{first}
	for len(apps) < n {
		apps = append(apps, NewApp(t, append(opts, InCluster(first))...))
	}
	return apps
}

// InCluster makes the App one more member of first's cluster: first's
// data dir, database, Redis and key prefix.
func InCluster(first *core.App) Option {
	fc := first.Config()
	return WithConfig(func(c *core.Config) {
		c.DataDir, c.Database.URL = fc.DataDir, fc.Database.URL
		c.Redis.URL, c.Redis.Prefix = fc.Redis.URL, fc.Redis.Prefix
	})
}
