package core

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Health statuses.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
	HealthDown     = "down"
)

// ComponentHealth is the state of one dependency.
type ComponentHealth struct {
	Status    string  `json:"status"`
	Kind      string  `json:"kind"`
	LatencyMs float64 `json:"latencyMs"`
	Error     string  `json:"error,omitempty"`
}

// HealthReport is the detailed health of the instance. Status is "down" when
// the data database is unreachable (nothing works), "degraded" when another
// dependency is, "ok" otherwise.
type HealthReport struct {
	Status   string          `json:"status"`
	Version  string          `json:"version"`
	Database ComponentHealth `json:"database"`
	Logs     ComponentHealth `json:"logsDatabase"`
	Redis    ComponentHealth `json:"redis"`
	Jobs     JobsHealth      `json:"jobs"`
}

// JobsHealth is the state of the job queue and this instance's workers.
// Kind is the mode, "redis" or "embedded".
type JobsHealth struct {
	ComponentHealth
	JobsStatus
}

// Health checks every dependency, each within timeout.
func (a *App) Health(ctx context.Context, timeout time.Duration) HealthReport {
	r := HealthReport{Status: HealthOK, Version: Version}
	r.Database = a.checkDB(ctx, a.data.Write, timeout)
	r.Logs = a.checkDB(ctx, a.logsDB.Write, timeout)
	if a.logsDB.Write == a.data.Write {
		r.Logs.Kind = a.dialect.Name() + " (shared with data)"
	}
	r.Redis = a.checkRedis(ctx, timeout)
	r.Jobs = a.checkJobs(ctx, timeout)

	switch {
	case r.Database.Status != HealthOK:
		r.Status = HealthDown
	case r.Logs.Status != HealthOK || r.Redis.Status != HealthOK || r.Jobs.Status != HealthOK:
		r.Status = HealthDegraded
	}
	return r
}

func (a *App) checkDB(ctx context.Context, db *gorm.DB, timeout time.Duration) ComponentHealth {
	h := ComponentHealth{Status: HealthOK}
	if a.dialect != nil {
		h.Kind = a.dialect.Name()
	}
	if db == nil {
		h.Status, h.Error = HealthDown, "not open"
		return h
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := db.WithContext(ctx).Exec("SELECT 1").Error
	h.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		h.Status, h.Error = HealthDown, err.Error()
	}
	return h
}

func (a *App) checkRedis(ctx context.Context, timeout time.Duration) ComponentHealth {
	if a.redis == nil {
		return ComponentHealth{Status: HealthOK, Kind: "embedded"}
	}
	h := ComponentHealth{Status: HealthOK, Kind: "redis"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := a.redis.Ping(ctx).Err()
	h.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		h.Status, h.Error = HealthDown, err.Error()
	}
	return h
}

func (a *App) checkJobs(ctx context.Context, timeout time.Duration) JobsHealth {
	st := a.jobs.Status()
	h := JobsHealth{ComponentHealth: ComponentHealth{Status: HealthOK, Kind: st.Mode}, JobsStatus: st}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := a.jobs.ping(ctx)
	h.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		h.Status, h.Error = HealthDown, err.Error()
	}
	return h
}
