package core

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hatchgrid/hatchgrid/core/filter"
	"github.com/hatchgrid/hatchgrid/core/security"
	"gorm.io/gorm"
)

// Log is one stored log entry, in PocketBase's shape.
type Log struct {
	ID      string  `gorm:"column:id;primaryKey" json:"id"`
	Created string  `gorm:"column:created" json:"created"`
	Level   int     `gorm:"column:level" json:"level"`
	Message string  `gorm:"column:message" json:"message"`
	Data    JSONRaw `gorm:"column:data" json:"data"`
}

// TableName implements GORM's tabler.
func (Log) TableName() string { return "_logs" }

// RequestLog describes one handled HTTP request. Its JSON form is the
// "data" of the stored Log.
type RequestLog struct {
	Type      string     `json:"type"`
	Method    string     `json:"method"`
	URL       string     `json:"url"`
	Status    int        `json:"status"`
	ExecTime  float64    `json:"execTime"` // milliseconds
	Auth      string     `json:"auth"`     // auth collection name, "" for guests
	AuthID    string     `json:"authId,omitempty"`
	UserIP    string     `json:"userIP,omitempty"`
	RemoteIP  string     `json:"remoteIP,omitempty"`
	Referer   string     `json:"referer"`
	UserAgent string     `json:"userAgent"`
	Error     string     `json:"error,omitempty"`
	Details   any        `json:"details,omitempty"`
	Level     slog.Level `json:"-"`
	Time      time.Time  `json:"-"`
}

// LogStat is the number of logs in one hour.
type LogStat struct {
	Date  string `json:"date"`
	Total int    `json:"total"`
}

// Request-log writer tuning: entries are written in batches, so they show up
// a few seconds after the request, as in PocketBase.
const (
	logBatchSize     = 200
	logFlushInterval = 2 * time.Second
	logQueueSize     = 10000
)

// LogService stores request logs and lists them.
type LogService struct {
	app     *App
	queue   chan *Log
	done    chan struct{}
	dropped atomic.Int64
	once    sync.Once
	running atomic.Bool
	closeMu sync.RWMutex // guards closed and closing queue against senders
	closed  bool
	// flushReq asks the writer to write everything queued and reply.
	flushReq chan chan error
}

func newLogService(app *App) *LogService {
	return &LogService{
		app:      app,
		queue:    make(chan *Log, logQueueSize),
		done:     make(chan struct{}),
		flushReq: make(chan chan error),
	}
}

// AddRequest queues entry for storage unless the settings turn request logs
// off or its level is below their minimum. It never blocks: when the queue
// is full the entry is dropped and counted.
func (s *LogService) AddRequest(entry *RequestLog) {
	if !s.app.cfg.Log.Requests {
		return
	}
	settings := s.app.Settings().Logs
	if settings.MaxDays == 0 || int(entry.Level) < settings.MinLevel {
		return
	}
	if !settings.LogIP {
		entry.UserIP, entry.RemoteIP = "", ""
	}
	if !settings.LogAuthID {
		entry.AuthID = ""
	}
	entry.Type = "request"
	scrubRequestLog(entry)

	event := &RequestLogEvent{App: s.app, Log: entry}
	_ = s.app.OnRequestLogCreate().Trigger(event, func(e *RequestLogEvent) error {
		scrubRequestLog(e.Log) // again: a hook may have set the URL
		data, err := json.Marshal(e.Log)
		if err != nil {
			return err
		}
		log := &Log{
			ID:      security.NewID(),
			Created: FormatTime(e.Log.Time),
			Level:   int(e.Log.Level),
			Message: e.Log.Method + " " + e.Log.URL,
			Data:    data,
		}
		s.closeMu.RLock()
		defer s.closeMu.RUnlock()
		if s.closed {
			return nil // shutting down: nothing is written any more
		}
		select {
		case s.queue <- log:
		default:
			if s.dropped.Add(1)%1000 == 1 {
				s.app.logger.Warn("request log queue full; dropping entries", "dropped", s.dropped.Load())
			}
		}
		return nil
	})
}

// scrubRequestLog replaces the values of secret query parameters (file
// tokens, OAuth2 codes, ...) in the URL and referer of entry: request
// logs are readable with admin:logs, and a superuser's file token in a
// backup download URL would be a superuser credential (docs/security.md).
func scrubRequestLog(entry *RequestLog) {
	entry.URL = security.ScrubURL(entry.URL)
	entry.Referer = security.ScrubURL(entry.Referer)
}

// Dropped returns how many request logs were dropped because the queue was full.
func (s *LogService) Dropped() int64 { return s.dropped.Load() }

func (s *LogService) start() {
	s.once.Do(func() {
		s.running.Store(true)
		go s.run()
	})
}

// stop flushes what is queued and ends the writer, waiting at most until
// ctx is done.
func (s *LogService) stop(ctx context.Context) {
	s.once.Do(func() {}) // a writer that never started stays stopped
	if !s.running.Load() {
		return
	}
	s.closeMu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.closeMu.Unlock()
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

func (s *LogService) run() {
	defer close(s.done)
	flush := time.NewTicker(logFlushInterval)
	defer flush.Stop()

	batch := make([]*Log, 0, logBatchSize)
	write := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.insert(batch)
		if err != nil {
			s.app.logger.Error("write request logs", "error", err, "count", len(batch))
		}
		batch = batch[:0]
		return err
	}
	for {
		select {
		case log, ok := <-s.queue:
			if !ok {
				_ = write()
				return
			}
			batch = append(batch, log)
			if len(batch) >= logBatchSize {
				_ = write()
			}
		case reply := <-s.flushReq:
			for drained := false; !drained; {
				select {
				case log, ok := <-s.queue:
					if ok {
						batch = append(batch, log)
					} else {
						drained = true
					}
				default:
					drained = true
				}
			}
			reply <- write()
		case <-flush.C:
			_ = write()
		}
	}
}

func (s *LogService) insert(batch []*Log) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.app.LogsDB(ctx).CreateInBatches(batch, 100).Error
}

// DeleteOlderThan removes logs created before t and returns how many.
// The "cleanup.logs" cron job calls it hourly with logs.maxDays.
func (s *LogService) DeleteOlderThan(ctx context.Context, t time.Time) (int64, error) {
	res := s.app.LogsDB(ctx).Where(`"created" < ?`, FormatTime(t)).Delete(&Log{})
	return res.RowsAffected, res.Error
}

// Flush writes every queued log now and waits for it, for tests and tools
// that need the logs visible at once.
func (s *LogService) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.flushReq <- reply:
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LogQuery is a logs list request: paging plus PocketBase's filter and
// sort over id, created, level, message and data.<path>.
type LogQuery struct {
	ListParams
	Filter string
	Sort   string
}

// List returns one page of logs, newest first unless q.Sort says otherwise.
func (s *LogService) List(ctx context.Context, q LogQuery) (*ListResult[*Log], error) {
	p := NormalizePaging(q.ListParams)
	where, args, err := s.where(q.Filter)
	if err != nil {
		return nil, err
	}
	order := `"created" DESC, "id" DESC`
	if strings.TrimSpace(q.Sort) != "" {
		if order, err = s.order(q.Sort); err != nil {
			return nil, err
		}
	}
	result := &ListResult[*Log]{Page: p.Page, PerPage: p.PerPage, TotalItems: -1, TotalPages: -1, Items: []*Log{}}
	if !p.SkipTotal {
		var total int64
		if err := s.app.LogsReadDB(ctx).Model(&Log{}).Where(where, args...).Count(&total).Error; err != nil {
			return nil, err
		}
		result.TotalItems = int(total)
		result.TotalPages = int((total + int64(p.PerPage) - 1) / int64(p.PerPage))
	}
	err = s.app.LogsReadDB(ctx).Where(where, args...).Order(order).
		Limit(p.PerPage).Offset((p.Page - 1) * p.PerPage).Find(&result.Items).Error
	return result, err
}

// logResolver resolves the identifiers logs can be filtered and sorted by.
type logResolver struct{ app *App }

func (r logResolver) Resolve(ident string) (filter.Value, error) {
	switch ident {
	case "id", "created", "message":
		return filter.Value{SQL: quote(ident), Type: filter.TypeText, NotNull: true}, nil
	case "level":
		return filter.Value{SQL: quote(ident), Type: filter.TypeNumber, NotNull: true}, nil
	}
	if rest, ok := strings.CutPrefix(ident, "data."); ok && rest != "" {
		keys := strings.Split(rest, ".")
		for _, k := range keys {
			if !pathPartPattern.MatchString(k) {
				return filter.Value{}, invalidf("invalid log field %q", ident)
			}
		}
		sql, asText := r.app.dialect.JSONExtract(quote("data"), keys)
		v := filter.Value{SQL: sql, Type: filter.TypeUnknown}
		if asText {
			v.Type = filter.TypeText
		}
		return v, nil
	}
	return filter.Value{}, invalidf("unknown log field %q", ident)
}

// where compiles a logs filter; an empty one matches everything.
func (s *LogService) where(expr string) (string, []any, error) {
	if strings.TrimSpace(expr) == "" {
		return "1 = 1", nil, nil
	}
	sql, args, err := filter.CompileString(expr, logResolver{s.app}, s.app.dialect)
	if err != nil {
		return "", nil, Wrap(err, CodeInvalid, "Invalid filter format.")
	}
	return sql, args, nil
}

// order compiles a logs sort string.
func (s *LogService) order(sort string) (string, error) {
	var parts []string
	for _, key := range strings.Split(sort, ",") {
		key = strings.TrimSpace(key)
		dir := " ASC"
		switch {
		case strings.HasPrefix(key, "-"):
			dir, key = " DESC", key[1:]
		case strings.HasPrefix(key, "+"):
			key = key[1:]
		}
		v, err := logResolver{s.app}.Resolve(key)
		if err != nil {
			return "", Wrap(err, CodeInvalid, "Invalid sort field.")
		}
		parts = append(parts, v.SQL+dir)
	}
	return strings.Join(parts, ", "), nil
}

// FindByID returns one log.
func (s *LogService) FindByID(ctx context.Context, id string) (*Log, error) {
	var log Log
	err := s.app.LogsReadDB(ctx).Where(`"id" = ?`, id).Take(&log).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, &Error{Code: CodeNotFound, Message: "The requested resource wasn't found.", Err: err}
	}
	return &log, err
}

// Stats counts logs per hour, oldest first. Dates are stored as
// "YYYY-MM-DD HH:MM:SS.mmmZ" text, so the hour is a prefix on both dialects.
func (s *LogService) Stats(ctx context.Context, filterExpr string) ([]LogStat, error) {
	where, args, err := s.where(filterExpr)
	if err != nil {
		return nil, err
	}
	stats := []LogStat{}
	err = s.app.LogsReadDB(ctx).Model(&Log{}).Where(where, args...).
		Select(`SUBSTR("created", 1, 13) || ':00:00.000Z' AS "date", COUNT("id") AS "total"`).
		Group(`SUBSTR("created", 1, 13)`).Order(`"date" ASC`).Scan(&stats).Error
	return stats, err
}
