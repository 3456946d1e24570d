package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hatchgrid/hatchgrid/core/jobjournal"
	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// journalTask is the data of an enqueue record: enough to enqueue the
// task again, with its id, if a crash lost it.
type journalTask struct {
	Type     string    `json:"type"`
	Payload  []byte    `json:"payload,omitempty"`
	Enqueued time.Time `json:"at"`
	outboxOptions
}

// enqueueJournaled queues a task in the embedded queue and returns once
// its enqueue record is fsync'd: from then on it survives kill -9 and a
// power cut. Concurrent callers share fsyncs (group commit).
func (s *JobService) enqueueJournaled(ctx context.Context, typ string, data []byte, opts []EnqueueOption) (string, error) {
	oo, id := s.parseOptions(opts)
	if id == "" {
		id = uuid.NewString() // as the queue would
		opts = append(opts, jobs.TaskID(id))
	}
	if oo.Queue == "" {
		oo.Queue = QueueDefault
	}
	id, queue, err := s.queue.Enqueue(ctx, typ, data, opts...)
	if err != nil {
		return "", err
	}
	rec, err := json.Marshal(journalTask{Type: typ, Payload: data, Enqueued: s.app.Now(), outboxOptions: oo})
	if err != nil {
		return "", err
	}
	j := s.embedded.journal
	if err := j.Sync(j.Append(jobjournal.Enqueue, queue, id, rec)); err != nil {
		s.app.logger.ErrorContext(ctx, "jobs: journal an enqueue", "component", "jobs", "id", id, "error", err)
		return "", fmt.Errorf("enqueue %s: the job is queued but may not survive a crash: %w", typ, err)
	}
	return id, nil
}

// journalEnd records that a task left the queue for good (kind Done,
// Archive or Delete), so that a replay after a crash does not bring it
// back. Finished jobs are written at once (they survive kill -9) and
// fsync'd with the next group commit; deletions by hand wait for the
// fsync.
func (s *JobService) journalEnd(ctx context.Context, kind jobjournal.Kind, queue, id string) {
	e := s.embedded
	if e == nil || e.journal == nil || id == "" {
		return
	}
	seq := e.journal.Append(kind, queue, id, nil)
	wait := e.journal.Write
	if kind == jobjournal.Delete {
		wait = e.journal.Sync
	}
	if err := wait(seq); err != nil {
		s.app.logger.WarnContext(ctx, "jobs: journal a finished job", "component", "jobs", "id", id, "error", err)
	}
}

// replayEntry is what the journal says of one task.
type replayEntry struct {
	queue, id string
	enq       *journalTask    // the last enqueue after the snapshot, if any
	end       jobjournal.Kind // what happened after it: Done, Archive, Delete or 0
}

// replayJournal applies the journal's records over the restored snapshot,
// which holds those up to snapSeq: a task enqueued since and missing is
// enqueued again with its id; a task that finished, was archived or was
// deleted since is removed or archived. It returns the last seq seen.
func (s *JobService) replayJournal(ctx context.Context, snapSeq uint64) (uint64, error) {
	segs, err := jobjournal.Segments(s.embedded.dir)
	if err != nil || len(segs) == 0 {
		return snapSeq, err
	}
	last := snapSeq
	entries := map[string]*replayEntry{}
	var order []*replayEntry
	records := 0
	for _, seg := range segs {
		torn, err := jobjournal.ReadSegment(seg.Path, func(r jobjournal.Record) error {
			records++
			last = max(last, r.Seq)
			key := r.Queue + "\x00" + r.ID
			e := entries[key]
			if e == nil {
				e = &replayEntry{queue: r.Queue, id: r.ID}
				entries[key] = e
				order = append(order, e)
			}
			switch r.Kind {
			case jobjournal.Enqueue:
				if r.Seq <= snapSeq {
					return nil // the snapshot has it, or what became of it
				}
				var t journalTask
				if err := json.Unmarshal(r.Data, &t); err != nil {
					return err
				}
				e.enq, e.end = &t, 0
			default:
				e.end = r.Kind
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if torn {
			s.app.logger.WarnContext(ctx, "jobs: the journal ends in a partly written record (a crash while writing it); the rest is ignored",
				"component", "jobs", "segment", seg.Path)
		}
	}
	applied := 0
	for _, e := range order {
		n, err := s.replayOne(ctx, e)
		if err != nil {
			return 0, fmt.Errorf("replay job %s: %w", e.id, err)
		}
		applied += n
	}
	s.app.logger.InfoContext(ctx, "jobs: replayed the embedded queue's journal", "component", "jobs",
		"records", records, "changed", applied)
	return last, nil
}

// replayOne applies one task's entry and reports whether it changed the
// queue.
func (s *JobService) replayOne(ctx context.Context, e *replayEntry) (int, error) {
	insp := s.queue
	state := ""
	if ti, err := insp.Task(e.queue, e.id); err == nil {
		state = ti.State
	} else if !errors.Is(err, jobs.ErrTaskNotFound) && !errors.Is(err, jobs.ErrQueueNotFound) {
		return 0, err
	}
	live := state == "pending" || state == "scheduled" || state == "retry" || state == "aggregating"
	switch e.end {
	case jobjournal.Done:
		if live {
			return 1, ignoreGone(insp.DeleteTask(e.queue, e.id))
		}
		return 0, nil
	case jobjournal.Delete:
		if state != "" {
			return 1, ignoreGone(insp.DeleteTask(e.queue, e.id))
		}
		return 0, nil
	}
	n := 0
	if state == "" && e.enq != nil {
		if err := s.reenqueue(ctx, e); err != nil {
			return 0, err
		}
		state, live, n = "pending", true, 1
	}
	if e.end == jobjournal.Archive && live {
		return 1, ignoreGone(insp.ArchiveTask(e.queue, e.id))
	}
	return n, nil
}

func (s *JobService) reenqueue(ctx context.Context, e *replayEntry) error {
	t := e.enq
	oo := t.outboxOptions
	oo.Unique = 0
	opts := append(oo.List(), jobs.TaskID(e.id))
	if left := t.Unique - s.app.Now().Sub(t.Enqueued); t.Unique > 0 && left >= time.Second {
		opts = append(opts, jobs.Unique(left)) // what is left of the unique lock
	}
	_, _, err := s.queue.Enqueue(ctx, t.Type, t.Payload, opts...)
	if errors.Is(err, jobs.ErrTaskIDConflict) || errors.Is(err, jobs.ErrDuplicateTask) {
		return nil
	}
	return err
}

func ignoreGone(err error) error {
	if errors.Is(err, jobs.ErrTaskNotFound) || errors.Is(err, jobs.ErrQueueNotFound) {
		return nil
	}
	return err
}

// carryFinished copies into the new journal segment the Done and Archive
// records of the segments before boundary whose task the snapshot still
// has as running: the handler had returned but Asynq had not yet moved
// the task when the queue was copied, and those segments are about to go.
func (e *embeddedRedis) carryFinished(keys []memKey, boundary uint64) error {
	segs, err := jobjournal.Segments(e.dir)
	if err != nil {
		return err
	}
	var ends []jobjournal.Record
	for _, seg := range segs {
		if seg.First >= boundary {
			break
		}
		if _, err := jobjournal.ReadSegment(seg.Path, func(r jobjournal.Record) error {
			if r.Kind == jobjournal.Done || r.Kind == jobjournal.Archive {
				ends = append(ends, r)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(ends) == 0 {
		return nil
	}
	want := make(map[string]bool, len(ends))
	for _, r := range ends {
		want[jobs.TaskKey(r.Queue, r.ID)] = true
	}
	running := map[string]bool{}
	for _, k := range keys {
		if k.typ != "hash" || !want[k.key] {
			continue
		}
		for i := 0; i+1 < len(k.vals); i += 2 {
			if k.vals[i] == "state" && k.vals[i+1] == "active" {
				running[k.key] = true
			}
		}
	}
	var seq uint64
	for _, r := range ends {
		if running[jobs.TaskKey(r.Queue, r.ID)] {
			seq = e.journal.Append(r.Kind, r.Queue, r.ID, nil)
		}
	}
	if seq == 0 {
		return nil
	}
	return e.journal.Sync(seq)
}
