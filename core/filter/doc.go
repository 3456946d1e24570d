// Package filter parses PocketBase's filter language and compiles it to SQL
// with bound parameters. Parsing (tokens by github.com/ganigeorgiev/fexpr)
// gives an AST in which && binds tighter than ||; compiling asks a
// Resolver what each identifier means (a column, a value, a relation path)
// and never puts user text into the SQL: literals become parameters and
// identifiers are only ever the resolver's own, quoted names.
//
// The package is a leaf: it knows SQL dialects only through the Dialect
// interface it declares, and collections only through Resolver.
package filter
