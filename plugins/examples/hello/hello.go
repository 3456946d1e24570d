// Package hello is an example plugin that shows the four ways a plugin
// extends Hatchgrid: a hook (OnBootstrap creates the plugin's collection),
// routes under /api/hello (apis.RouteProvider), a job ("hello.greet"
// stores a greeting) and a cron entry that enqueues that job on a
// schedule. Copy it to start a plugin of your own.
package hello

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
)

// JobType is the type of the job that stores one greeting.
const JobType = "hello.greet"

// CronName names the cron entry; its ticks run as jobs of type
// core.CronJobType(CronName).
const CronName = "hello.greet"

// DefaultCollection is the collection greetings go to unless
// Plugin.Collection says otherwise.
const DefaultCollection = "hello_greetings"

// Plugin stores greetings: one per "hello.greet" job, enqueued by the cron
// entry every Every and by superusers through POST /api/hello/greetings.
// Authenticated records read them with GET /api/hello/greetings.
type Plugin struct {
	// Collection holds the greetings (fields "to", "message", "created"),
	// created at bootstrap when missing, with every API rule locked to
	// superusers. Empty means DefaultCollection.
	Collection string
	// Every is how often the cron entry greets CronTo. Zero means every
	// minute; a negative value adds no cron entry.
	Every time.Duration
	// CronTo is whom the cron entry greets. Empty means "world".
	CronTo string

	app *core.App
}

// greeting is the payload of a hello.greet job.
type greeting struct {
	To string `json:"to"`
}

// Name implements core.Plugin.
func (p *Plugin) Name() string { return "hello" }

// Register implements core.Plugin. It runs at the start of Bootstrap,
// before the databases are open: it only binds the hook and registers the
// job and the cron entry; the hook does the database work once they are
// open.
func (p *Plugin) Register(app *core.App) error {
	p.app = app
	if p.Collection == "" {
		p.Collection = DefaultCollection
	}
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil { // opens and migrates the databases
			return err
		}
		return p.ensureCollection(e.Context)
	})
	app.Jobs().Register(JobType, p.greet, core.JobMaxRetry(3))
	if p.Every < 0 {
		return nil
	}
	every := p.Every
	if every == 0 {
		every = time.Minute
	}
	return app.Cron().Add(CronName, "@every "+every.String(), p.tick)
}

// ensureCollection creates the greetings collection unless it exists.
// Another instance may create it at the same moment: then Create fails
// and the collection is there after a reload.
func (p *Plugin) ensureCollection(ctx context.Context) error {
	if _, err := p.app.Collections().Find(p.Collection); err == nil {
		return nil
	}
	var in core.CollectionInput
	def := fmt.Sprintf(`{"name":%q,"fields":[
		{"name":"to","type":"text","required":true},
		{"name":"message","type":"text"},
		{"name":"created","type":"autodate","onCreate":true}]}`, p.Collection)
	if err := json.Unmarshal([]byte(def), &in); err != nil {
		return err
	}
	_, err := p.app.Collections().Create(ctx, &in)
	if err == nil {
		return nil
	}
	if rerr := p.app.Collections().Reload(ctx); rerr != nil {
		return errors.Join(err, rerr)
	}
	if _, ferr := p.app.Collections().Find(p.Collection); ferr == nil {
		return nil
	}
	return fmt.Errorf("create collection %s: %w", p.Collection, err)
}

// greet is the hello.greet job: it stores one greeting record. It acts
// for the system, so the collection's superusers-only rules let it in.
func (p *Plugin) greet(ctx context.Context, job *core.Job) error {
	var g greeting
	if err := job.Decode(&g); err != nil || g.To == "" {
		// A malformed payload will not get better: archive it at once.
		return fmt.Errorf("hello.greet: bad payload %q: %w", job.Payload, core.SkipRetry)
	}
	col, err := p.app.Collections().Find(p.Collection)
	if err != nil {
		return err
	}
	_, err = p.app.Records().Create(core.AsSystem(ctx), col, map[string]any{
		"to":      g.To,
		"message": "Hello, " + g.To + "!",
	})
	return err
}

// tick is the cron entry's job: it enqueues a greeting rather than storing
// it, so that the greeting gets hello.greet's own retries.
func (p *Plugin) tick(ctx context.Context, _ *core.Job) error {
	to := p.CronTo
	if to == "" {
		to = "world"
	}
	_, err := p.app.Jobs().Enqueue(ctx, JobType, greeting{To: to})
	return err
}

var _ core.Plugin = (*Plugin)(nil)
