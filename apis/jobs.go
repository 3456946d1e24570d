package apis

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
)

// jobHandlers serve the dashboard's view of the job queue, on Asynq's
// Inspector: queues, tasks by state, run/archive/delete, pause/resume,
// cron entries and the job system's status.
type jobHandlers struct{ app *core.App }

func registerJobRoutes(g *echo.Group, app *core.App) {
	h := jobHandlers{app}
	j := g.Group("/hg/jobs", RequireAdmin(app, authz.AdminJobs))
	j.GET("/status", h.status)
	j.GET("/cron", h.cron)
	j.GET("/queues", h.queues)
	j.GET("/queues/:queue/tasks", h.tasks)
	j.POST("/queues/:queue/tasks/:id/run", h.runTask)
	j.POST("/queues/:queue/tasks/:id/archive", h.archiveTask)
	j.DELETE("/queues/:queue/tasks/:id", h.deleteTask)
	j.DELETE("/queues/:queue/tasks", h.purgeTasks)
	j.POST("/queues/:queue/pause", h.pause)
	j.POST("/queues/:queue/resume", h.resume)
}

// jobQueue is one queue's sizes and today's counts.
type jobQueue struct {
	Name      string        `json:"name"`
	Size      int           `json:"size"`
	Pending   int           `json:"pending"`
	Active    int           `json:"active"`
	Scheduled int           `json:"scheduled"`
	Retry     int           `json:"retry"`
	Archived  int           `json:"archived"`
	Completed int           `json:"completed"`
	Processed int           `json:"processed"` // today, failures included
	Failed    int           `json:"failed"`    // today
	Paused    bool          `json:"paused"`
	History   []jobQueueDay `json:"history"` // the last 7 days, newest first
}

type jobQueueDay struct {
	Date      string `json:"date"`
	Processed int    `json:"processed"`
	Failed    int    `json:"failed"`
}

// jobTask is one task as the API shows it. Payload is null and
// PayloadHidden set for a caller who is not a superuser, unless the job's
// type opted in to showing it (core.JobShowPayload).
type jobTask struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Payload       json.RawMessage `json:"payload"`
	PayloadHidden bool            `json:"payloadHidden,omitempty"`
	Queue         string          `json:"queue"`
	State         string          `json:"state"`
	Retried       int             `json:"retried"`
	MaxRetry      int             `json:"maxRetry"`
	LastError     string          `json:"lastError"`
	LastFailedAt  *time.Time      `json:"lastFailedAt"`
	NextProcessAt *time.Time      `json:"nextProcessAt"`
	CompletedAt   *time.Time      `json:"completedAt"`
}

// JobTaskStates are the task states the jobs API and CLI list.
var JobTaskStates = []string{"pending", "active", "scheduled", "retry", "archived", "completed"}

const jobHistoryDays = 7

func (h jobHandlers) inspector() (*asynq.Inspector, error) {
	insp := h.app.Jobs().Inspector()
	if insp == nil {
		return nil, core.Errorf(core.CodeUnavailable, "The job queue is not available.")
	}
	return insp, nil
}

func (h jobHandlers) status(c echo.Context) error {
	n, err := h.app.Jobs().OutboxLen(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"status": h.app.Jobs().Status(), "outboxLen": n, "types": sortedTypes(h.app),
	})
}

func sortedTypes(app *core.App) []string {
	t := app.Jobs().Types()
	slices.Sort(t)
	return t
}

func (h jobHandlers) cron(c echo.Context) error {
	return c.JSON(http.StatusOK, h.app.Cron().Entries())
}

func (h jobHandlers) queues(c echo.Context) error {
	insp, err := h.inspector()
	if err != nil {
		return err
	}
	names, err := JobQueueNames(insp)
	if err != nil {
		return err
	}
	known, err := insp.Queues()
	if err != nil {
		return err
	}
	out := make([]jobQueue, 0, len(names))
	for _, name := range names {
		q := jobQueue{Name: name, History: []jobQueueDay{}}
		// A core queue nothing was enqueued to yet is empty, and unknown to
		// Asynq, which reports that as an untyped error.
		if slices.Contains(known, name) {
			info, err := insp.GetQueueInfo(name)
			if err != nil {
				return err
			}
			q.Size, q.Pending, q.Active, q.Scheduled = info.Size, info.Pending, info.Active, info.Scheduled
			q.Retry, q.Archived, q.Completed = info.Retry, info.Archived, info.Completed
			q.Processed, q.Failed, q.Paused = info.Processed, info.Failed, info.Paused
			days, err := insp.History(name, jobHistoryDays)
			if err != nil {
				return err
			}
			for _, d := range days {
				q.History = append(q.History, jobQueueDay{Date: d.Date.Format(time.DateOnly), Processed: d.Processed, Failed: d.Failed})
			}
		}
		out = append(out, q)
	}
	return c.JSON(http.StatusOK, out)
}

// JobQueueNames returns the core queues, then any other queue Asynq knows.
func JobQueueNames(insp *asynq.Inspector) ([]string, error) {
	names := []string{core.QueueCritical, core.QueueDefault, core.QueueLow}
	known, err := insp.Queues()
	if err != nil {
		return nil, err
	}
	slices.Sort(known)
	for _, q := range known {
		if !slices.Contains(names, q) {
			names = append(names, q)
		}
	}
	return names, nil
}

// queueParam returns the :queue of the request, or a 404 if it is neither
// a core queue nor one Asynq knows.
func (h jobHandlers) queueParam(c echo.Context) (*asynq.Inspector, string, error) {
	insp, err := h.inspector()
	if err != nil {
		return nil, "", err
	}
	names, err := JobQueueNames(insp)
	if err != nil {
		return nil, "", err
	}
	q := c.Param("queue")
	if !slices.Contains(names, q) {
		return nil, "", core.Errorf(core.CodeNotFound, "The requested queue wasn't found.")
	}
	return insp, q, nil
}

func (h jobHandlers) tasks(c echo.Context) error {
	insp, queue, err := h.queueParam(c)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	if state == "" {
		state = "pending"
	}
	p, err := PagingParams(c)
	if err != nil {
		return err
	}
	infos, total, err := ListJobTasks(insp, queue, state, p.Page, p.PerPage)
	if err != nil {
		return err
	}
	res := core.ListResult[jobTask]{Page: p.Page, PerPage: p.PerPage, TotalItems: total, Items: make([]jobTask, 0, len(infos))}
	res.TotalPages = (total + p.PerPage - 1) / p.PerPage
	superuser := core.ActorFrom(c.Request().Context()).IsSuperuser()
	for _, ti := range infos {
		res.Items = append(res.Items, toJobTask(ti, superuser || h.app.Jobs().ShowsPayload(ti.Type)))
	}
	return c.JSON(http.StatusOK, res)
}

// ListJobTasks returns one page of queue's tasks in state and how many
// tasks are in that state; an unknown state is a core "invalid" error.
func ListJobTasks(insp *asynq.Inspector, queue, state string, page, perPage int) ([]*asynq.TaskInfo, int, error) {
	list := map[string]func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		"pending": insp.ListPendingTasks, "active": insp.ListActiveTasks,
		"scheduled": insp.ListScheduledTasks, "retry": insp.ListRetryTasks,
		"archived": insp.ListArchivedTasks, "completed": insp.ListCompletedTasks,
	}[state]
	if list == nil {
		return nil, 0, core.Invalid("Invalid task state.", map[string]core.FieldError{"state": {
			Code: "validation_in_invalid", Message: "Must be one of pending, active, scheduled, retry, archived, completed.",
		}})
	}
	known, err := insp.Queues()
	if err != nil || !slices.Contains(known, queue) {
		return nil, 0, err
	}
	info, err := insp.GetQueueInfo(queue)
	if err != nil {
		return nil, 0, err
	}
	total := map[string]int{
		"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
		"retry": info.Retry, "archived": info.Archived, "completed": info.Completed,
	}[state]
	tasks, err := list(queue, asynq.Page(page), asynq.PageSize(perPage))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil, 0, nil
	}
	return tasks, total, err
}

func toJobTask(ti *asynq.TaskInfo, showPayload bool) jobTask {
	t := jobTask{
		ID: ti.ID, Type: ti.Type, Queue: ti.Queue, State: ti.State.String(),
		Retried: ti.Retried, MaxRetry: ti.MaxRetry, LastError: ti.LastErr,
		LastFailedAt: timeOrNil(ti.LastFailedAt), NextProcessAt: timeOrNil(ti.NextProcessAt),
		CompletedAt: timeOrNil(ti.CompletedAt),
	}
	switch {
	case !showPayload:
		t.Payload, t.PayloadHidden = json.RawMessage("null"), true
	case len(ti.Payload) == 0:
		t.Payload = json.RawMessage("null")
	case json.Valid(ti.Payload):
		t.Payload = json.RawMessage(ti.Payload)
	default:
		t.Payload, _ = json.Marshal(string(ti.Payload))
	}
	return t
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// taskAction runs fn on the request's task and answers 204; a task or
// queue Asynq does not know is a 404.
func (h jobHandlers) taskAction(c echo.Context, fn func(insp *asynq.Inspector, queue, id string) error) error {
	insp, queue, err := h.queueParam(c)
	if err != nil {
		return err
	}
	err = fn(insp, queue, c.Param("id"))
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return core.Errorf(core.CodeNotFound, "The requested task wasn't found.")
	}
	if err != nil {
		return core.Wrap(err, core.CodeInvalid, "The task can't be changed in its current state.")
	}
	return c.NoContent(http.StatusNoContent)
}

func (h jobHandlers) runTask(c echo.Context) error {
	return h.taskAction(c, (*asynq.Inspector).RunTask)
}

func (h jobHandlers) archiveTask(c echo.Context) error {
	return h.taskAction(c, func(_ *asynq.Inspector, queue, id string) error {
		return h.app.Jobs().ArchiveTask(c.Request().Context(), queue, id)
	})
}

func (h jobHandlers) deleteTask(c echo.Context) error {
	return h.taskAction(c, func(_ *asynq.Inspector, queue, id string) error {
		return h.app.Jobs().DeleteTask(c.Request().Context(), queue, id)
	})
}

// purgeTasks deletes every task of the queue in ?state= (pending,
// scheduled, retry, archived or completed) and answers how many.
func (h jobHandlers) purgeTasks(c echo.Context) error {
	_, queue, err := h.queueParam(c)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	if !slices.Contains(core.PurgeableStates, state) {
		return core.Invalid("Invalid task state.", map[string]core.FieldError{"state": {
			Code: "validation_in_invalid", Message: "Must be one of pending, scheduled, retry, archived, completed.",
		}})
	}
	n, err := h.app.Jobs().PurgeTasks(c.Request().Context(), queue, state)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"deleted": n})
}

func (h jobHandlers) pause(c echo.Context) error {
	return h.queueAction(c, (*asynq.Inspector).PauseQueue)
}

func (h jobHandlers) resume(c echo.Context) error {
	return h.queueAction(c, (*asynq.Inspector).UnpauseQueue)
}

func (h jobHandlers) queueAction(c echo.Context, fn func(insp *asynq.Inspector, queue string) error) error {
	insp, queue, err := h.queueParam(c)
	if err != nil {
		return err
	}
	if err := fn(insp, queue); err != nil {
		return core.Wrap(err, core.CodeInvalid, "The queue can't be changed in its current state.")
	}
	return c.NoContent(http.StatusNoContent)
}
