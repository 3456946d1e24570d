package jobs

import (
	"time"

	"github.com/hibiken/asynq"
)

// Option is one option of an enqueued job: its queue, delay, retries,
// uniqueness, retention... Build it with the functions of this package
// (or core's re-exports).
//
// NOTE: Option is Asynq's option type under this package's name (an
// alias, not a new type) because tests/faults/jobnode, which the fault
// suite builds unchanged, passes a []asynq.Option to Enqueue. Nothing
// outside this package needs to know: every option has a constructor here.
type Option = asynq.Option

// Queue sends the job to the named queue (default "default").
func Queue(name string) Option { return asynq.Queue(name) }

// MaxRetry sets how many times a failed job is retried before it is
// archived.
func MaxRetry(n int) Option { return asynq.MaxRetry(n) }

// Timeout bounds one run of the job.
func Timeout(d time.Duration) Option { return asynq.Timeout(d) }

// Deadline is the time by which a run of the job must finish.
func Deadline(t time.Time) Option { return asynq.Deadline(t) }

// ProcessIn delays the job's first run by d.
func ProcessIn(d time.Duration) Option { return asynq.ProcessIn(d) }

// ProcessAt delays the job's first run until t.
func ProcessAt(t time.Time) Option { return asynq.ProcessAt(t) }

// Unique refuses (ErrDuplicateTask) a job of the same type, queue and
// payload as one enqueued less than ttl ago that has not finished.
func Unique(ttl time.Duration) Option { return asynq.Unique(ttl) }

// TaskID sets the job's id; a second job with a live id is
// ErrTaskIDConflict.
func TaskID(id string) Option { return asynq.TaskID(id) }

// Retention keeps the job (and its result) for d after it completes.
func Retention(d time.Duration) Option { return asynq.Retention(d) }

// Group puts the job in a group of the queue, for aggregation.
func Group(name string) Option { return asynq.Group(name) }

// Options is a list of options in a form that can be stored as JSON: the
// outbox's rows and the embedded queue's journal keep it. ProcessIn is
// kept as the time it points at, so a delay counts from when it was read.
type Options struct {
	Queue     string         `json:"queue,omitempty"`
	MaxRetry  *int           `json:"maxRetry,omitempty"`
	Timeout   time.Duration  `json:"timeout,omitempty"`
	Deadline  *time.Time     `json:"deadline,omitempty"`
	ProcessAt *time.Time     `json:"processAt,omitempty"`
	Unique    time.Duration  `json:"unique,omitempty"`
	Retention *time.Duration `json:"retention,omitempty"`
	Group     string         `json:"group,omitempty"`
}

// ParseOptions reads opts into Options (a ProcessIn counts from now) and
// returns the TaskID option's id, if any; later options win.
func ParseOptions(opts []Option, now time.Time) (oo Options, taskID string) {
	for _, o := range opts {
		switch v := o.Value().(type) {
		case string:
			switch o.Type() {
			case asynq.QueueOpt:
				oo.Queue = v
			case asynq.GroupOpt:
				oo.Group = v
			case asynq.TaskIDOpt:
				taskID = v
			}
		case int:
			oo.MaxRetry = &v
		case time.Duration:
			switch o.Type() {
			case asynq.TimeoutOpt:
				oo.Timeout = v
			case asynq.UniqueOpt:
				oo.Unique = v
			case asynq.RetentionOpt:
				oo.Retention = &v
			case asynq.ProcessInOpt:
				at := now.Add(v)
				oo.ProcessAt = &at
			}
		case time.Time:
			switch o.Type() {
			case asynq.DeadlineOpt:
				oo.Deadline = &v
			case asynq.ProcessAtOpt:
				oo.ProcessAt = &v
			}
		}
	}
	return oo, taskID
}

// List returns the options oo keeps.
func (oo Options) List() []Option {
	var opts []Option
	if oo.Queue != "" {
		opts = append(opts, Queue(oo.Queue))
	}
	if oo.Group != "" {
		opts = append(opts, Group(oo.Group))
	}
	if oo.MaxRetry != nil {
		opts = append(opts, MaxRetry(*oo.MaxRetry))
	}
	if oo.Timeout > 0 {
		opts = append(opts, Timeout(oo.Timeout))
	}
	if oo.Deadline != nil {
		opts = append(opts, Deadline(*oo.Deadline))
	}
	if oo.Unique > 0 {
		opts = append(opts, Unique(oo.Unique))
	}
	if oo.ProcessAt != nil {
		opts = append(opts, ProcessAt(*oo.ProcessAt))
	}
	if oo.Retention != nil {
		opts = append(opts, Retention(*oo.Retention))
	}
	return opts
}
