package core

import (
	"context"

	"gorm.io/gorm"
)

type txKey struct{}

// DB returns the data database for writing, bound to ctx. Inside InTx it is
// the transaction.
func (a *App) DB(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return a.data.Write.WithContext(ctx)
}

// ReadDB returns the data database for reading, bound to ctx: the read pool
// on SQLite, or the transaction inside InTx so reads see its writes.
func (a *App) ReadDB(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return a.data.Read.WithContext(ctx)
}

// LogsDB returns the request-log database bound to ctx.
func (a *App) LogsDB(ctx context.Context) *gorm.DB {
	return a.logsDB.Write.WithContext(ctx)
}

// LogsReadDB returns the request-log database for reading.
func (a *App) LogsReadDB(ctx context.Context) *gorm.DB {
	return a.logsDB.Read.WithContext(ctx)
}

// InTx runs fn in a transaction of the data database: committed if fn
// returns nil, rolled back otherwise. Nested calls join the outer
// transaction, so fn's work commits or rolls back with it.
func (a *App) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	return a.data.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

// withoutTx returns ctx without its transaction, for work that must see
// only committed state.
func withoutTx(ctx context.Context) context.Context {
	return context.WithValue(ctx, txKey{}, nil)
}
