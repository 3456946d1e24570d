package hatchgrid

// ShellQuote exposes shellQuote to the tests.
var ShellQuote = shellQuote
