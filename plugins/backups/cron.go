package backups

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
)

// CronName is the name of the automatic backups' cron entry (its jobs are
// of type core.CronJobType(CronName)).
const CronName = "backups"

// scheduler keeps the cron entry in line with settings.backups.cron.
type scheduler struct {
	mu   sync.Mutex
	spec string // scheduled now; "" when none
	stop chan struct{}
	done chan struct{}
}

// startScheduler schedules the current cron and then checks the settings
// every PollInterval: settings change at run time, here or on another
// instance, and no hook announces it.
func (p *Plugin) startScheduler() {
	interval := p.PollInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	p.syncSchedule()
	stop, done := make(chan struct{}), make(chan struct{})
	p.sched.mu.Lock()
	p.sched.stop, p.sched.done = stop, done
	p.sched.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.syncSchedule()
			}
		}
	}()
}

func (p *Plugin) stopScheduler() {
	p.sched.mu.Lock()
	stop, done := p.sched.stop, p.sched.done
	p.sched.stop, p.sched.done = nil, nil
	p.sched.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// syncSchedule adds, changes or removes the cron entry after the settings.
func (p *Plugin) syncSchedule() {
	spec := strings.TrimSpace(p.app.Settings().Backups.Cron)
	p.sched.mu.Lock()
	defer p.sched.mu.Unlock()
	if spec == p.sched.spec {
		return
	}
	if spec == "" {
		p.app.Cron().Remove(CronName)
	} else if err := p.app.Cron().Add(CronName, spec, p.autoJob, core.JobMaxRetry(0), core.JobTimeout(time.Hour)); err != nil {
		p.app.Logger().Error("backups: invalid cron schedule", "component", "backups", "cron", spec, "error", err)
		return
	}
	p.app.Logger().Info("backups: schedule changed", "component", "backups", "cron", spec)
	p.sched.spec = spec
}

func (p *Plugin) autoJob(ctx context.Context, _ *core.Job) error {
	return p.RunAuto(ctx)
}

// RunAuto makes an automatic backup, named "@auto_hg_backup_<time>.zip",
// then deletes the oldest automatic backups beyond
// settings.backups.cronMaxKeep. While another backup or restore runs it
// does nothing.
func (p *Plugin) RunAuto(ctx context.Context) error {
	if !p.isSQLite() {
		return nil
	}
	name := newName(AutoPrefix, p.app.Now())
	if !p.acquire(name) {
		p.app.Logger().Warn("backups: automatic backup skipped: another backup or restore runs", "component", "backups")
		return nil
	}
	defer p.release()
	if err := p.makeBackup(ctx, name); err != nil {
		return err
	}
	return p.prune(ctx, p.app.Settings().Backups.CronMaxKeep)
}

// prune deletes the automatic backups beyond the newest keep ones.
func (p *Plugin) prune(ctx context.Context, keep int) error {
	keep = max(keep, 1)
	list, err := p.List(ctx)
	if err != nil {
		return err
	}
	store, prefix, err := p.store()
	if err != nil {
		return err
	}
	n := 0
	for _, b := range list { // newest first
		if !strings.HasPrefix(b.Key, AutoPrefix) {
			continue
		}
		if n++; n <= keep {
			continue
		}
		if err := store.Delete(ctx, prefix+b.Key); err != nil {
			p.app.Logger().Warn("backups: prune", "component", "backups", "key", b.Key, "error", err)
		}
	}
	return nil
}
