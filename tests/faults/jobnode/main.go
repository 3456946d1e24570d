// Command jobnode is the hatchgrid command with one plugin more, for the
// fault tests of the embedded job queue: POST /api/test/enqueue queues a
// "test.record" job (after ?delay=, a Go duration) and answers its id once
// Enqueue has acknowledged it; the job appends its id to
// <data_dir>/ran.log. Never part of a release binary.
package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
)

func main() {
	os.Exit(hatchgrid.New(hatchgrid.WithPlugins(&recorder{})).Execute())
}

type recorder struct{ app *core.App }

var (
	_ core.Plugin        = (*recorder)(nil)
	_ apis.RouteProvider = (*recorder)(nil)
)

func (*recorder) Name() string { return "test-recorder" }

func (p *recorder) Register(app *core.App) error {
	p.app = app
	app.Jobs().Register("test.record", func(ctx context.Context, job *core.Job) error {
		f, err := os.OpenFile(filepath.Join(app.Config().DataDir, "ran.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(job.ID + "\n")
		return err
	})
	return nil
}

func (p *recorder) Routes(g *echo.Group) {
	g.POST("/test/enqueue", func(c echo.Context) error {
		var opts []asynq.Option
		if d, err := time.ParseDuration(c.QueryParam("delay")); err == nil && d > 0 {
			opts = append(opts, asynq.ProcessIn(d))
		}
		id, err := p.app.Jobs().Enqueue(c.Request().Context(), "test.record", map[string]string{"at": time.Now().String()}, opts...)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"id": id})
	})
}
