package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// outboxRetention is how long a task dispatched from the outbox is kept
// after it completes (unless the caller asks for another retention): while
// it is kept, a second dispatch of the same row (two dispatchers racing)
// is a TaskID conflict instead of a second run.
const outboxRetention = time.Hour

// outboxPushTimeout bounds the push that follows a commit in Redis mode.
// It runs in the committing goroutine, usually a request: a Redis that is
// slow or gone costs the request at most this long (go-redis's own dial
// retries take over a second), and the row waits for the relay.
const outboxPushTimeout = 200 * time.Millisecond

// outboxRow is one row of _outbox.
type outboxRow struct {
	ID        string `gorm:"column:id;primaryKey"`
	Type      string `gorm:"column:type"`
	Payload   string `gorm:"column:payload"`
	Options   string `gorm:"column:options"`
	Attempts  int    `gorm:"column:attempts"`
	LastError string `gorm:"column:lastError"`
	Created   string `gorm:"column:created"`
}

func (outboxRow) TableName() string { return "_outbox" }

// outboxOptions are the enqueue options an outbox row keeps. ProcessIn is
// stored as the time it points at, so a delay counts from the commit.
type outboxOptions = jobs.Options

// EnqueueTx queues a job of typ that must not be lost: it writes a row to
// the outbox in ctx's transaction (through App.DB), so the job exists
// exactly when the change that caused it commits. After the commit the row
// is moved into the queue with its id as the task id and deleted; if the
// process dies first, the dispatcher of the next start (or of another
// instance) moves it. payload and opts are as for Enqueue, except that the
// payload must be text (JSON) and TaskID is taken by the row id,
// which EnqueueTx returns.
func (s *JobService) EnqueueTx(ctx context.Context, typ string, payload any, opts ...EnqueueOption) (string, error) {
	data, err := encodePayload(payload)
	if err != nil {
		return "", err
	}
	return s.enqueueOutbox(ctx, typ, data, opts)
}

func (s *JobService) enqueueOutbox(ctx context.Context, typ string, data []byte, opts []EnqueueOption) (string, error) {
	if !utf8.Valid(data) {
		return "", errors.New("jobs: an outbox payload must be text (JSON)")
	}
	oo, err := s.outboxOptions(opts)
	if err != nil {
		return "", err
	}
	optsJSON, err := json.Marshal(oo)
	if err != nil {
		return "", err
	}
	row := &outboxRow{
		ID: security.NewID(), Type: typ, Payload: string(data), Options: string(optsJSON),
		Created: FormatTime(s.app.Now()),
	}
	if err := s.app.DB(ctx).Create(row).Error; err != nil {
		return "", fmt.Errorf("jobs: write outbox row: %w", err)
	}
	s.app.AfterCommit(ctx, func(ctx context.Context) {
		if s.dispatches() {
			s.pushAfterCommit(ctx, row)
		}
	})
	return row.ID, nil
}

// pushAfterCommit moves a just-committed row into the queue. In Redis
// mode a write must not wait for Redis: while Redis is known down the row
// is left to the relay without a dial, and a push that fails or outlasts
// outboxPushTimeout marks Redis down. The row is committed either way, and
// its id as the TaskID makes a late second push a harmless conflict.
func (s *JobService) pushAfterCommit(ctx context.Context, row *outboxRow) {
	if s.inline || s.Mode() != JobsModeRedis {
		_ = s.dispatchRow(ctx, row, 0)
		return
	}
	if s.queueDown.Load() {
		return
	}
	if err := s.dispatchRow(ctx, row, outboxPushTimeout); err != nil {
		s.setQueueDown(ctx, true, err)
	}
}

// setQueueDown records whether Redis is reachable, logging the changes.
func (s *JobService) setQueueDown(ctx context.Context, down bool, err error) {
	if s.queueDown.Swap(down) == down {
		return
	}
	if down {
		s.app.logger.WarnContext(ctx, "jobs: Redis is unreachable; new jobs wait in the outbox for the relay",
			"component", "jobs", "error", err)
	} else {
		s.app.logger.InfoContext(ctx, "jobs: Redis is reachable again; jobs are pushed on commit", "component", "jobs")
	}
}

// relayOutbox is the background relay's tick. While Redis is known down it
// only pings it; once Redis answers it clears the mark and dispatches the
// waiting rows. A failed dispatch marks Redis down if a ping fails too (a
// row Redis rejects does not).
func (s *JobService) relayOutbox(ctx context.Context) {
	redisMode := !s.inline && s.Mode() == JobsModeRedis
	if redisMode && s.queueDown.Load() {
		if err := s.pingQueue(ctx); err != nil {
			return
		}
		s.setQueueDown(ctx, false, nil)
	}
	if err := s.dispatchOutbox(ctx); err != nil && redisMode {
		if perr := s.pingQueue(ctx); perr != nil {
			s.setQueueDown(ctx, true, perr)
		}
	}
}

func (s *JobService) pingQueue(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return s.ping(ctx)
}

func (s *JobService) outboxOptions(opts []EnqueueOption) (outboxOptions, error) {
	oo, id := s.parseOptions(opts)
	if id != "" {
		return oo, errors.New("jobs: EnqueueTx sets the task id itself (the outbox row id)")
	}
	return oo, nil
}

// parseOptions reads enqueue options into the form the outbox and the
// journal keep, and returns the TaskID option's id, if any.
func (s *JobService) parseOptions(opts []EnqueueOption) (oo outboxOptions, taskID string) {
	return jobs.ParseOptions(opts, s.app.Now())
}

// dispatchOptions returns the options a dispatch of a row uses: oo's,
// with outboxRetention unless oo sets a retention.
func dispatchOptions(oo outboxOptions) []EnqueueOption {
	opts := oo.List()
	if oo.Retention == nil {
		opts = append(opts, jobs.Retention(outboxRetention))
	}
	return opts
}

// dispatchRow moves one row into the queue and deletes it. A TaskID
// conflict means the row was dispatched before (by a dispatcher that died
// before deleting it, or one racing this one): the row just goes.
// A timeout above zero bounds the push (not the bookkeeping after it).
func (s *JobService) dispatchRow(ctx context.Context, row *outboxRow, timeout time.Duration) error {
	var oo outboxOptions
	if row.Options != "" {
		if err := json.Unmarshal([]byte(row.Options), &oo); err != nil {
			s.app.logger.ErrorContext(ctx, "jobs: bad outbox options", "component", "jobs", "id", row.ID, "error", err)
		}
	}
	opts := append(dispatchOptions(oo), jobs.TaskID(row.ID))
	pushCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		pushCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	_, err := s.submit(pushCtx, row.Type, []byte(row.Payload), opts)
	if err != nil && !errors.Is(err, jobs.ErrTaskIDConflict) && !errors.Is(err, jobs.ErrDuplicateTask) {
		s.app.logger.WarnContext(ctx, "jobs: outbox dispatch failed; will retry", "component", "jobs",
			"id", row.ID, "type", row.Type, "error", err)
		s.app.DB(withoutTx(ctx)).Model(&outboxRow{}).Where(`"id" = ?`, row.ID).
			Updates(map[string]any{"attempts": row.Attempts + 1, "lastError": err.Error()})
		return err
	}
	return s.app.DB(withoutTx(ctx)).Where(`"id" = ?`, row.ID).Delete(&outboxRow{}).Error
}

// dispatchOutbox moves every pending outbox row into the queue, oldest
// first, stopping at the first failure (the queue is most likely down),
// which it returns.
func (s *JobService) dispatchOutbox(ctx context.Context) error {
	for {
		var rows []*outboxRow
		err := s.app.ReadDB(withoutTx(ctx)).Order(`"created", "id"`).Limit(100).Find(&rows).Error
		if err != nil {
			s.app.logger.ErrorContext(ctx, "jobs: read the outbox", "component", "jobs", "error", err)
			return nil
		}
		for _, row := range rows {
			if err := s.dispatchRow(ctx, row, 0); err != nil {
				return err
			}
		}
		if len(rows) < 100 {
			return nil
		}
	}
}

// OutboxLen returns how many outbox rows wait for dispatch.
func (s *JobService) OutboxLen(ctx context.Context) (int64, error) {
	var n int64
	err := s.app.ReadDB(ctx).Model(&outboxRow{}).Count(&n).Error
	return n, err
}
