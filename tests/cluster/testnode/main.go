// Command testnode is the hatchgrid command with one plugin more, for the
// SDK cluster suite: a cron entry that fires every 2 seconds and writes
// which instance ran each tick, and GET /api/test/ticks (superusers) that
// lists those runs, so the suite can see that a tick runs once across the
// cluster, not once per instance. Never part of a release binary.
package main

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
	"github.com/labstack/echo/v4"
)

func main() {
	os.Exit(hatchgrid.New(hatchgrid.WithPlugins(&webhooks.Plugin{}, &ticks{})).Execute())
}

// tickRun is one run of a tick: several rows with one tick would be the
// bug the suite looks for.
type tickRun struct {
	Seq      int64  `gorm:"primaryKey;autoIncrement" json:"-"`
	Tick     string `gorm:"not null" json:"tick"`
	Instance string `gorm:"not null" json:"instance"`
	Ran      string `gorm:"not null" json:"ran"`
}

func (tickRun) TableName() string { return "_test_ticks" }

type ticks struct{ app *core.App }

var (
	_ core.Plugin        = (*ticks)(nil)
	_ apis.RouteProvider = (*ticks)(nil)
)

func (*ticks) Name() string { return "test-ticks" }

func (p *ticks) Register(app *core.App) error {
	p.app = app
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return app.DB(context.Background()).AutoMigrate(&tickRun{})
	})
	return app.Cron().Add("test-ticks", "@every 2s", func(ctx context.Context, j *core.Job) error {
		return app.DB(ctx).Create(&tickRun{Tick: j.ID, Instance: app.Cluster().InstanceID(),
			Ran: time.Now().UTC().Format(time.RFC3339Nano)}).Error
	})
}

func (p *ticks) Routes(g *echo.Group) {
	g.GET("/test/ticks", func(c echo.Context) error {
		if !core.ActorFrom(c.Request().Context()).IsSuperuser() {
			return core.Errorf(core.CodeForbidden, "Superusers only.")
		}
		var runs []tickRun
		if err := p.app.ReadDB(c.Request().Context()).Order("seq").Find(&runs).Error; err != nil {
			return err
		}
		return c.JSON(http.StatusOK, runs)
	})
}
