// Package core is Hatchgrid's domain: the App, its configuration, databases,
// migrations, hooks, superusers, tokens, request logs and settings. It knows
// nothing of HTTP; package apis maps its results and errors onto the wire.
package core
