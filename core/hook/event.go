package hook

// Resolver is the part of an event that the chain drives. Event structs
// satisfy it by embedding Event.
type Resolver interface {
	// Next runs the remaining handlers of the chain and, at its end, the
	// final action given to Trigger.
	Next() error

	setNext(fn func() error)
	nextFunc() func() error
}

// Event is embedded by every hook event. Its zero value is ready to use.
type Event struct {
	next func() error
}

// Next continues the chain. Calling it outside of a running chain is a no-op.
func (e *Event) Next() error {
	if e.next == nil {
		return nil
	}
	return e.next()
}

func (e *Event) setNext(fn func() error) { e.next = fn }

func (e *Event) nextFunc() func() error { return e.next }
