// Package migrations holds Hatchgrid's versioned system migrations, one per
// file, named <UTC timestamp>_<what>.go. All lists them in order; core runs
// them on Bootstrap and through `hatchgrid migrate`. A migration that has
// shipped is never edited: a change is a new migration.
//
// The package is a leaf below core: migrations speak GORM and the dialect,
// never the App.
package migrations
