package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gormlogger "gorm.io/gorm/logger"
)

// sqlLogger sends GORM's messages to slog: failed statements at error,
// slow ones at warn, and in dev mode every statement at debug. Unlike
// GORM's own slog adapter it formats GORM's printf-style messages.
type sqlLogger struct {
	log   *slog.Logger
	level gormlogger.LogLevel
	slow  time.Duration
}

func (l *sqlLogger) LogMode(level gormlogger.LogLevel) gormlogger.Interface {
	c := *l
	c.level = level
	return &c
}

func (l *sqlLogger) Info(ctx context.Context, msg string, args ...any) {
	if l.level >= gormlogger.Info {
		l.log.InfoContext(ctx, fmt.Sprintf(msg, args...))
	}
}

func (l *sqlLogger) Warn(ctx context.Context, msg string, args ...any) {
	if l.level >= gormlogger.Warn {
		l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
	}
}

func (l *sqlLogger) Error(ctx context.Context, msg string, args ...any) {
	if l.level >= gormlogger.Error {
		l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
	}
}

func (l *sqlLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if l.level <= gormlogger.Silent {
		return
	}
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gormlogger.ErrRecordNotFound) && !errors.Is(err, context.Canceled) && l.level >= gormlogger.Error:
		sql, rows := fc()
		l.log.ErrorContext(ctx, "sql failed", "error", err.Error(), "sql", sql, "rows", rows, "duration_ms", ms(elapsed))
	case l.slow > 0 && elapsed > l.slow && l.level >= gormlogger.Warn:
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow sql", "sql", sql, "rows", rows, "duration_ms", ms(elapsed))
	case l.level >= gormlogger.Info:
		sql, rows := fc()
		l.log.DebugContext(ctx, "sql", "sql", sql, "rows", rows, "duration_ms", ms(elapsed))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
