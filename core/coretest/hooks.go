package coretest

import (
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/hook"
)

// HookRecorder records which of an App's hooks fired, in order, as
// "<Hook> <collection>" for collection hooks ("OnRecordCreate posts") and
// "<Hook>" for the others. It binds first in each chain, so it sees an
// event even when a later handler stops the chain or fails it.
type HookRecorder struct {
	mu    sync.Mutex
	fired []string
}

// RecordHooks binds a HookRecorder to app's collection, record, request,
// settings and policy hooks.
func RecordHooks(app *core.App) *HookRecorder {
	r := &HookRecorder{}
	watch(r, "OnCollectionCreate", app.OnCollectionCreate(), collectionName)
	watch(r, "OnCollectionUpdate", app.OnCollectionUpdate(), collectionName)
	watch(r, "OnCollectionDelete", app.OnCollectionDelete(), collectionName)
	watch(r, "OnRecordsListRequest", app.OnRecordsListRequest(), requestCollection)
	watch(r, "OnRecordViewRequest", app.OnRecordViewRequest(), requestCollection)
	watch(r, "OnRecordCreateRequest", app.OnRecordCreateRequest(), requestCollection)
	watch(r, "OnRecordUpdateRequest", app.OnRecordUpdateRequest(), requestCollection)
	watch(r, "OnRecordDeleteRequest", app.OnRecordDeleteRequest(), requestCollection)
	watch(r, "OnRecordCreate", app.OnRecordCreate(), recordCollection)
	watch(r, "OnRecordUpdate", app.OnRecordUpdate(), recordCollection)
	watch(r, "OnRecordDelete", app.OnRecordDelete(), recordCollection)
	watch(r, "OnRecordCreateCommitted", app.OnRecordCreateCommitted(), recordCollection)
	watch(r, "OnRecordUpdateCommitted", app.OnRecordUpdateCommitted(), recordCollection)
	watch(r, "OnRecordDeleteCommitted", app.OnRecordDeleteCommitted(), recordCollection)
	watch(r, "OnPolicyChange", app.OnPolicyChange(), func(*core.PolicyEvent) string { return "" })
	app.OnSettingsUpdate().Bind(&hook.Handler[*core.SettingsEvent]{
		Priority: math.MinInt,
		Func: func(e *core.SettingsEvent) error {
			r.add("OnSettingsUpdate")
			return e.Next()
		},
	})
	return r
}

func collectionName(e *core.CollectionEvent) string       { return e.Collection.Name }
func requestCollection(e *core.RecordRequestEvent) string { return e.Collection.Name }
func recordCollection(e *core.RecordEvent) string {
	if c := e.Record.Collection(); c != nil {
		return c.Name
	}
	return ""
}

// watch binds a recording handler to h that names each event name plus
// what tag returns.
func watch[T hook.Tagger](r *HookRecorder, name string, h *hook.TaggedHook[T], tag func(T) string) {
	h.Bind(&hook.Handler[T]{
		Priority: math.MinInt,
		Func: func(e T) error {
			if s := tag(e); s != "" {
				r.add(name + " " + s)
			} else {
				r.add(name)
			}
			return e.Next()
		},
	})
}

func (r *HookRecorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fired = append(r.fired, s)
}

// Fired returns the hooks that fired since the last Reset, in order.
func (r *HookRecorder) Fired() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.fired)
}

// Reset forgets what fired so far, as before the request a test watches.
func (r *HookRecorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fired = nil
}

// Assert fails t unless exactly want fired since the last Reset, in that
// order.
func (r *HookRecorder) Assert(t testing.TB, want ...string) {
	t.Helper()
	if got := r.Fired(); !slices.Equal(got, want) {
		t.Errorf("hooks fired:\n  got  %q\n  want %q", got, want)
	}
}

// AssertNone fails t if any of names fired since the last Reset.
func (r *HookRecorder) AssertNone(t testing.TB, names ...string) {
	t.Helper()
	for _, got := range r.Fired() {
		for _, n := range names {
			if got == n {
				t.Errorf("hook %q fired; hooks fired: %q", n, r.Fired())
			}
		}
	}
}
