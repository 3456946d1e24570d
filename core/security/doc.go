// Package security has the small cryptographic helpers Hatchgrid needs
// everywhere: unbiased random strings for ids, secrets and token keys.
// It is a leaf package.
package security
