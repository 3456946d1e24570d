package hook_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/hook"
)

type testEvent struct {
	hook.Event
	trace []string
	tags  []string
}

func (e *testEvent) Tags() []string { return e.tags }

func appendTo(name string) func(*testEvent) error {
	return func(e *testEvent) error {
		e.trace = append(e.trace, name)
		return e.Next()
	}
}

func final(e *testEvent) error {
	e.trace = append(e.trace, "final")
	return nil
}

func TestTriggerOrder(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	h.Bind(&hook.Handler[*testEvent]{Priority: 10, Func: appendTo("p10")})
	h.BindFunc(appendTo("a0"))
	h.Bind(&hook.Handler[*testEvent]{Priority: -5, Func: appendTo("m5")})
	h.BindFunc(appendTo("b0"))

	e := &testEvent{}
	if err := h.Trigger(e, final); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(e.trace, ","), "m5,a0,b0,p10,final"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
}

func TestHandlerSeesOutcomeAfterNext(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	h.BindFunc(func(e *testEvent) error {
		e.trace = append(e.trace, "before")
		err := e.Next()
		e.trace = append(e.trace, fmt.Sprintf("after(%v)", err))
		return err
	})

	e := &testEvent{}
	boom := errors.New("boom")
	err := h.Trigger(e, func(e *testEvent) error {
		e.trace = append(e.trace, "final")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got, want := strings.Join(e.trace, ","), "before,final,after(boom)"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
}

func TestReturningWithoutNextSkipsRest(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	h.BindFunc(appendTo("first"))
	h.BindFunc(func(e *testEvent) error {
		e.trace = append(e.trace, "stop")
		return nil
	})
	h.BindFunc(appendTo("never"))

	e := &testEvent{}
	if err := h.Trigger(e, final); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(e.trace, ","), "first,stop"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
}

func TestErrorAbortsChain(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	veto := errors.New("veto")
	h.BindFunc(func(e *testEvent) error { return veto })
	h.BindFunc(appendTo("never"))

	e := &testEvent{}
	if err := h.Trigger(e, final); !errors.Is(err, veto) {
		t.Fatalf("err = %v, want veto", err)
	}
	if len(e.trace) != 0 {
		t.Fatalf("trace = %v, want empty", e.trace)
	}
}

func TestUnbindAndReplace(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	id := h.BindFunc(appendTo("gone"))
	h.Bind(&hook.Handler[*testEvent]{ID: "fixed", Func: appendTo("old")})
	h.Bind(&hook.Handler[*testEvent]{ID: "fixed", Priority: -1, Func: appendTo("new")})
	h.BindFunc(appendTo("kept"))
	h.Unbind(id, "unknown")

	if got := h.Length(); got != 2 {
		t.Fatalf("Length = %d, want 2", got)
	}
	e := &testEvent{}
	if err := h.Trigger(e, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(e.trace, ","), "new,kept"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}

	h.UnbindAll()
	if got := h.Length(); got != 0 {
		t.Fatalf("Length after UnbindAll = %d", got)
	}
}

func TestNextPastEndIsNoop(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	h.BindFunc(appendTo("only"))
	e := &testEvent{}
	if err := h.Trigger(e, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Next(); err != nil {
		t.Fatalf("Next after Trigger: %v", err)
	}
	if got, want := strings.Join(e.trace, ","), "only"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
}

func TestNestedTriggerResumesOuterChain(t *testing.T) {
	t.Parallel()

	var outer, inner hook.Hook[*testEvent]
	inner.BindFunc(appendTo("inner"))
	outer.BindFunc(func(e *testEvent) error {
		if err := inner.Trigger(e, func(e *testEvent) error {
			e.trace = append(e.trace, "innerFinal")
			return nil
		}); err != nil {
			return err
		}
		return e.Next()
	})
	outer.BindFunc(appendTo("outer2"))

	e := &testEvent{}
	if err := outer.Trigger(e, final); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(e.trace, ","), "inner,innerFinal,outer2,final"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
}

func TestTaggedHook(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	hook.NewTaggedHook(&h, "posts").BindFunc(appendTo("posts"))
	hook.NewTaggedHook(&h, "users", "admins").BindFunc(appendTo("people"))
	hook.NewTaggedHook(&h).BindFunc(appendTo("all"))

	cases := []struct {
		tags []string
		want string
	}{
		{[]string{"posts", "pbc_1"}, "posts,all,final"},
		{[]string{"admins"}, "people,all,final"},
		{nil, "all,final"},
	}
	for _, c := range cases {
		e := &testEvent{tags: c.tags}
		if err := h.Trigger(e, final); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(e.trace, ","); got != c.want {
			t.Errorf("tags %v: trace = %s, want %s", c.tags, got, c.want)
		}
	}
}

// TestConcurrentBindTrigger is meant for -race: binding, unbinding and
// triggering from many goroutines must neither race nor lose handlers.
func TestConcurrentBindTrigger(t *testing.T) {
	t.Parallel()

	var h hook.Hook[*testEvent]
	tagged := hook.NewTaggedHook(&h, "x")

	const workers = 8
	const rounds = 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				id := h.BindFunc(func(e *testEvent) error { return e.Next() })
				if i%2 == 0 {
					h.Unbind(id)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				tagged.BindFunc(func(e *testEvent) error { return e.Next() })
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				e := &testEvent{tags: []string{"x"}}
				ran := false
				if err := h.Trigger(e, func(*testEvent) error { ran = true; return nil }); err != nil {
					t.Error(err)
					return
				}
				if !ran {
					t.Error("final action did not run")
					return
				}
			}
		}()
	}
	wg.Wait()

	if got, want := h.Length(), workers*rounds/2+workers*rounds; got != want {
		t.Fatalf("Length = %d, want %d", got, want)
	}
}
