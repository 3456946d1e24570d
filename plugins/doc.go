// Package plugins holds Hatchgrid's optional, compiled-in extensions. Each
// lives in its own package and extends the App only through its exported
// API: hooks, routes (apis.RouteProvider) and, later, jobs and commands.
// A binary chooses its plugins explicitly with hatchgrid.WithPlugins.
package plugins
