// Package examples holds example plugins, one package each, for plugin
// authors to copy: slug (record hooks that set a field and veto with a
// validation error) and hello (a route, a job and a cron entry). Its test
// builds a custom App with a plugin that does all four and drives it
// through the HTTP API. See docs/plugins.md.
package examples
