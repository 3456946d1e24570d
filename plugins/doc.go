// Package plugins holds Hatchgrid's optional, compiled-in extensions. Each
// lives in its own package and extends the App only through its exported
// API: hooks, routes (apis.RouteProvider), jobs and cron entries. A binary
// chooses its plugins explicitly with hatchgrid.WithPlugins. See
// docs/plugins.md and the examples under plugins/examples.
package plugins
