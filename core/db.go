package core

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

type txKey struct{}

// txState is the transaction of an outermost InTx and the work queued with
// AfterCommit to run once it commits.
type txState struct {
	tx *gorm.DB

	mu          sync.Mutex
	afterCommit []func(ctx context.Context)
}

// txFrom returns the transaction ctx carries, or nil.
func txFrom(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{}).(*txState)
	return st
}

// DB returns the data database for writing, bound to ctx. Inside InTx it is
// the transaction.
func (a *App) DB(ctx context.Context) *gorm.DB {
	if st := txFrom(ctx); st != nil {
		return st.tx
	}
	return a.data.Write.WithContext(ctx)
}

// ReadDB returns the data database for reading, bound to ctx: the read pool
// on SQLite, or the transaction inside InTx so reads see its writes.
func (a *App) ReadDB(ctx context.Context) *gorm.DB {
	if st := txFrom(ctx); st != nil {
		return st.tx
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
// transaction, so fn's work commits or rolls back with it, and the work
// they queue with AfterCommit waits for the outermost commit.
func (a *App) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if txFrom(ctx) != nil {
		return fn(ctx)
	}
	st := &txState{}
	err := a.data.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st.tx = tx
		return fn(context.WithValue(ctx, txKey{}, st))
	})
	if err != nil {
		return err
	}
	st.runAfterCommit(ctx)
	return nil
}

// runAfterCommit runs the work queued with AfterCommit, once the
// transaction has committed.
func (st *txState) runAfterCommit(ctx context.Context) {
	st.mu.Lock()
	queued := st.afterCommit
	st.afterCommit = nil
	st.mu.Unlock()
	// NOTE: the work is committed whatever the caller does next, so its
	// follow-ups are not cut short by the caller's cancellation or deadline.
	after := context.WithoutCancel(ctx)
	for _, fn := range queued {
		fn(after)
	}
}

// AfterCommit runs fn once the transaction that ctx carries has committed,
// after the outermost InTx's commit; work queued in a transaction that
// rolls back is dropped. Outside a transaction fn runs at once. fn gets a
// context without the transaction. Use it for side effects (committed
// hooks, mail, jobs) that must not happen for work that is undone.
func (a *App) AfterCommit(ctx context.Context, fn func(ctx context.Context)) {
	st := txFrom(ctx)
	if st == nil {
		fn(ctx)
		return
	}
	st.mu.Lock()
	st.afterCommit = append(st.afterCommit, fn)
	st.mu.Unlock()
}

// withoutTx returns ctx without its transaction, for work that must see
// only committed state.
func withoutTx(ctx context.Context) context.Context {
	return context.WithValue(ctx, txKey{}, (*txState)(nil))
}
