package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/robfig/cron/v3"
)

// CronService runs jobs on schedules. Get it with App.Cron.
//
// Each tick enqueues a job of type "cron:<name>" with a task id made of
// the name and the tick's scheduled time, kept a while after it runs, so
// when several instances share a Redis each tick runs once, on whichever
// instance enqueued it first. (Asynq's own Scheduler enqueues a fixed task
// per entry, with no per-tick id, so it would run a tick once per
// instance.) The schedules are parsed by robfig/cron, as Asynq's Scheduler
// does, and run in UTC.
type CronService struct {
	app *App

	mu      sync.Mutex
	cron    *cron.Cron // non-nil while started
	entries map[string]*cronEntry
}

type cronEntry struct {
	name, spec string
	schedule   cron.Schedule
	id         cron.EntryID
}

// CronEntry describes one cron entry.
type CronEntry struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
	// JobType is the type of the jobs the entry enqueues.
	JobType string `json:"jobType"`
	// Next is the next scheduled tick; Prev the last one this instance
	// fired. Zero when the workers are not running.
	Next time.Time `json:"next"`
	Prev time.Time `json:"prev"`
}

// Cron returns the cron service.
func (a *App) Cron() *CronService { return a.cron }

// CronJobType returns the job type of the cron entry name.
func CronJobType(name string) string { return "cron:" + name }

// Add schedules handler under name, replacing an entry of the same name.
// spec is a standard five-field cron expression ("*/5 * * * *") or a
// descriptor ("@hourly", "@every 30s"). opts are the job type's defaults,
// as for Jobs().Register. Entries run while the workers do.
func (c *CronService) Add(name, spec string, handler JobHandler, opts ...JobOption) error {
	if name == "" {
		return errors.New("cron: empty name")
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("cron %s: %w", name, err)
	}
	c.app.jobs.Register(CronJobType(name), handler, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[name]; old != nil && c.cron != nil {
		c.cron.Remove(old.id)
	}
	e := &cronEntry{name: name, spec: spec, schedule: sched}
	if c.entries == nil {
		c.entries = map[string]*cronEntry{}
	}
	c.entries[name] = e
	if c.cron != nil {
		e.id = c.cron.Schedule(sched, c.tickFunc(e))
	}
	return nil
}

// Remove unschedules the entry name; its job type stays registered, so
// ticks already queued still run.
func (c *CronService) Remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[name]; e != nil {
		if c.cron != nil {
			c.cron.Remove(e.id)
		}
		delete(c.entries, name)
	}
}

// Entries returns the entries by name, with their next tick.
func (c *CronService) Entries() []CronEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CronEntry, 0, len(c.entries))
	for _, e := range c.entries {
		ce := CronEntry{Name: e.name, Spec: e.spec, JobType: CronJobType(e.name)}
		if c.cron != nil {
			ent := c.cron.Entry(e.id)
			ce.Next, ce.Prev = ent.Next, ent.Prev
		}
		out = append(out, ce)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *CronService) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cron = cron.New(cron.WithLocation(time.UTC))
	for _, e := range c.entries {
		e.id = c.cron.Schedule(e.schedule, c.tickFunc(e))
	}
	c.cron.Start()
}

func (c *CronService) stop() {
	c.mu.Lock()
	cr := c.cron
	c.cron = nil
	c.mu.Unlock()
	if cr != nil {
		<-cr.Stop().Done()
	}
}

func (c *CronService) tickFunc(e *cronEntry) cron.FuncJob {
	return func() {
		now := time.Now().UTC()
		tick, retention := tickOf(e.schedule, now)
		id := fmt.Sprintf("cron:%s:%d", e.name, tick.Unix())
		ctx := context.Background()
		_, err := c.app.jobs.submit(ctx, CronJobType(e.name), nil,
			[]EnqueueOption{jobs.TaskID(id), jobs.Retention(retention)})
		if err != nil && !errors.Is(err, jobs.ErrTaskIDConflict) {
			c.app.logger.Error("cron: enqueue a tick", "component", "jobs", "name", e.name, "error", err)
		}
	}
}

// tickOf names the tick firing at now the same on every instance, and says
// how long its task must be kept for the other instances' copies of the
// tick to conflict with it. An "@every d" schedule counts from each
// process's start, so its ticks are numbered by d-long slots since the
// epoch; a cron expression's ticks fall on the same times everywhere, so
// the tick is the latest scheduled time not after now.
func tickOf(s cron.Schedule, now time.Time) (time.Time, time.Duration) {
	if every, ok := s.(cron.ConstantDelaySchedule); ok {
		return now.Truncate(every.Delay), every.Delay + time.Minute
	}
	tick := now.Truncate(time.Second)
	for t := s.Next(now.Add(-time.Minute)); !t.After(now); t = s.Next(t) {
		tick = t
	}
	return tick, 5 * time.Minute
}
