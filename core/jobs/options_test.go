package jobs_test

import (
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// TestOptionsRoundTrip: what the outbox and the journal keep of a job's
// options gives back the same options, with a delay fixed to the time it
// was read and the task id apart.
func TestOptionsRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	deadline := now.Add(time.Hour)
	oo, id := jobs.ParseOptions([]jobs.Option{
		jobs.Queue("low"), jobs.Group("g"), jobs.MaxRetry(3), jobs.Timeout(time.Minute),
		jobs.Deadline(deadline), jobs.Unique(time.Second), jobs.Retention(2 * time.Hour),
		jobs.ProcessIn(10 * time.Minute), jobs.TaskID("t1"),
	}, now)
	if id != "t1" || oo.Queue != "low" || oo.Group != "g" || oo.MaxRetry == nil || *oo.MaxRetry != 3 ||
		oo.Timeout != time.Minute || !oo.Deadline.Equal(deadline) || oo.Unique != time.Second ||
		oo.Retention == nil || *oo.Retention != 2*time.Hour || !oo.ProcessAt.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("parsed %+v, id %q", oo, id)
	}
	again, id2 := jobs.ParseOptions(oo.List(), now.Add(time.Minute))
	if id2 != "" || again.Queue != oo.Queue || again.Group != oo.Group || *again.MaxRetry != 3 ||
		again.Timeout != oo.Timeout || !again.Deadline.Equal(deadline) || again.Unique != oo.Unique ||
		*again.Retention != *oo.Retention || !again.ProcessAt.Equal(*oo.ProcessAt) {
		t.Fatalf("round trip %+v, want %+v", again, oo)
	}
	if len(jobs.Options{}.List()) != 0 {
		t.Fatal("empty Options give options")
	}
}
