package hook

import "slices"

// Tagger is implemented by events that carry tags, such as the name and id
// of the collection a record event is about.
type Tagger interface {
	Resolver
	Tags() []string
}

// TaggedHook is a view of a Hook that binds handlers which run only for
// events carrying at least one of its tags. With no tags it matches every
// event. Triggering goes through the underlying Hook.
type TaggedHook[T Tagger] struct {
	hook *Hook[T]
	tags []string
}

// NewTaggedHook returns a view of h restricted to tags.
func NewTaggedHook[T Tagger](h *Hook[T], tags ...string) *TaggedHook[T] {
	return &TaggedHook[T]{hook: h, tags: tags}
}

// CanTriggerOn reports whether handlers of this view run for an event with
// the given tags.
func (t *TaggedHook[T]) CanTriggerOn(tags []string) bool {
	if len(t.tags) == 0 {
		return true
	}
	for _, tag := range tags {
		if slices.Contains(t.tags, tag) {
			return true
		}
	}
	return false
}

// Bind adds handler to the underlying hook, wrapped so that it is skipped
// (the chain continues) for events whose tags do not match.
func (t *TaggedHook[T]) Bind(handler *Handler[T]) string {
	fn := handler.Func
	wrapped := *handler
	wrapped.Func = func(e T) error {
		if t.CanTriggerOn(e.Tags()) {
			return fn(e)
		}
		return e.Next()
	}
	return t.hook.Bind(&wrapped)
}

// BindFunc adds fn with priority 0 and returns its generated ID.
func (t *TaggedHook[T]) BindFunc(fn func(e T) error) string {
	return t.Bind(&Handler[T]{Func: fn})
}

// Unbind removes the handlers with the given IDs from the underlying hook.
func (t *TaggedHook[T]) Unbind(ids ...string) {
	t.hook.Unbind(ids...)
}
