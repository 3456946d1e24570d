package apis

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/labstack/echo/v4"
)

// jobHandlers serve the dashboard's view of the job queue over the
// JobService: queues, tasks by state, run/archive/delete, pause/resume,
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
	infos, err := h.app.Jobs().Queues(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]jobQueue, 0, len(infos))
	for _, info := range infos {
		out = append(out, toJobQueue(info))
	}
	return c.JSON(http.StatusOK, out)
}

func toJobQueue(info *jobs.QueueInfo) jobQueue {
	q := jobQueue{
		Name: info.Name, Size: info.Size, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
		Retry: info.Retry, Archived: info.Archived, Completed: info.Completed,
		Processed: info.Processed, Failed: info.Failed, Paused: info.Paused, History: []jobQueueDay{},
	}
	for _, d := range info.History {
		q.History = append(q.History, jobQueueDay{Date: d.Date.Format(time.DateOnly), Processed: d.Processed, Failed: d.Failed})
	}
	return q
}

func (h jobHandlers) tasks(c echo.Context) error {
	state := c.QueryParam("state")
	if state == "" {
		state = "pending"
	}
	p, err := PagingParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	infos, total, err := h.app.Jobs().Tasks(ctx, c.Param("queue"), state, p.Page, p.PerPage)
	if err != nil {
		return err
	}
	res := core.ListResult[jobTask]{Page: p.Page, PerPage: p.PerPage, TotalItems: total, Items: make([]jobTask, 0, len(infos))}
	res.TotalPages = (total + p.PerPage - 1) / p.PerPage
	superuser := core.ActorFrom(ctx).IsSuperuser()
	for _, ti := range infos {
		res.Items = append(res.Items, toJobTask(ti, superuser || h.app.Jobs().ShowsPayload(ti.Type)))
	}
	return c.JSON(http.StatusOK, res)
}

func toJobTask(ti *jobs.TaskInfo, showPayload bool) jobTask {
	t := jobTask{
		ID: ti.ID, Type: ti.Type, Queue: ti.Queue, State: ti.State,
		Retried: ti.Retried, MaxRetry: ti.MaxRetry, LastError: ti.LastError,
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

// taskAction runs one JobService action on the request's task and
// answers 204.
func (h jobHandlers) taskAction(c echo.Context, fn func(ctx context.Context, queue, id string) error) error {
	if err := fn(c.Request().Context(), c.Param("queue"), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h jobHandlers) runTask(c echo.Context) error {
	return h.taskAction(c, h.app.Jobs().RunTask)
}

func (h jobHandlers) archiveTask(c echo.Context) error {
	return h.taskAction(c, h.app.Jobs().ArchiveTask)
}

func (h jobHandlers) deleteTask(c echo.Context) error {
	return h.taskAction(c, h.app.Jobs().DeleteTask)
}

// purgeTasks deletes every task of the queue in ?state= (pending,
// scheduled, retry, archived or completed) and answers how many.
func (h jobHandlers) purgeTasks(c echo.Context) error {
	n, err := h.app.Jobs().PurgeTasks(c.Request().Context(), c.Param("queue"), c.QueryParam("state"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"deleted": n})
}

func (h jobHandlers) pause(c echo.Context) error {
	return h.queueAction(c, h.app.Jobs().PauseQueue)
}

func (h jobHandlers) resume(c echo.Context) error {
	return h.queueAction(c, h.app.Jobs().ResumeQueue)
}

func (h jobHandlers) queueAction(c echo.Context, fn func(ctx context.Context, queue string) error) error {
	if err := fn(c.Request().Context(), c.Param("queue")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
