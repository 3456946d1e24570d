// Package dialect holds every difference between the SQL databases Hatchgrid
// runs on (SQLite and PostgreSQL): how to open and pool them, column types,
// and how to recognise their errors. Code elsewhere asks a Dialect instead of
// branching on the database's name.
//
// The package is a leaf: it imports GORM and the drivers, never core.
package dialect
