// Package webhooks calls HTTP endpoints when records change. Webhooks are
// configured per collection and event (create, update, delete) through
// /api/hg/webhooks (superusers only). Each change enqueues a delivery job
// through the transactional outbox, in the record's transaction, so a
// delivery exists exactly when the change commits. The job POSTs
// {event, collection, record} signed with HMAC-SHA256 over the body with
// the webhook's secret (X-Hatchgrid-Signature: sha256=<hex>), retries with
// exponential backoff, and logs every attempt in _webhook_deliveries.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/security"
	"gorm.io/gorm"
)

// JobType is the type of the delivery job.
const JobType = "webhook.deliver"

// The events a webhook can be called for.
const (
	EventCreate = "create"
	EventUpdate = "update"
	EventDelete = "delete"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Signature and event headers of a delivery.
const (
	HeaderSignature = "X-Hatchgrid-Signature"
	HeaderEvent     = "X-Hatchgrid-Event"
	HeaderDelivery  = "X-Hatchgrid-Delivery"
)

// Plugin delivers webhooks. The zero value is ready to use.
type Plugin struct {
	// Client sends the deliveries; nil means the App's webhook client
	// (App.HTTPClient(core.OutboundWebhook, Timeout)), which refuses
	// loopback, private, link-local and metadata addresses unless the
	// outbound config allows them, redirects included. A Client given
	// here bypasses that policy.
	Client *http.Client
	// Timeout bounds one delivery attempt (default 10s).
	Timeout time.Duration
	// MaxRetry is how many times a failed delivery is retried (default 10).
	MaxRetry int
	// RetryDelay is the wait after the n-th failure; nil means
	// min(2^n seconds, 1h).
	RetryDelay func(n int) time.Duration

	app    *core.App
	client *http.Client

	// cache holds the enabled webhooks, nil until read: every record write
	// asks for them, so they are read once, not once per write. Writes
	// through the API clear it here and, through the cluster, everywhere.
	cache atomic.Pointer[[]webhook]
	mu    sync.Mutex
	gen   uint64 // bumped by every clear, under mu
}

// sharedKind names the cached webhooks among the cluster's shared state.
const sharedKind = "webhooks"

// Name implements core.Plugin.
func (p *Plugin) Name() string { return "webhooks" }

// Register implements core.Plugin: it binds the record hooks of every
// collection and registers the delivery job.
func (p *Plugin) Register(app *core.App) error {
	p.app = app
	p.client = p.Client
	if p.client == nil {
		timeout := p.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		p.client = app.HTTPClient(core.OutboundWebhook, timeout)
	}
	maxRetry := p.MaxRetry
	if maxRetry <= 0 {
		maxRetry = 10
	}
	delay := p.RetryDelay
	if delay == nil {
		delay = DefaultRetryDelay
	}
	if err := app.Cluster().Share(sharedKind, func(context.Context) error {
		p.clear()
		return nil
	}); err != nil {
		return err
	}
	// Secrets are sealed with the encryption key when one is configured,
	// and sealed at start when they were stored before it was.
	app.AddSealedColumn("_webhooks", "secret", core.SecretWebhook)
	app.Jobs().Register(JobType, p.deliver,
		core.JobMaxRetry(maxRetry),
		core.JobRetryDelay(func(n int, _ error) time.Duration { return delay(n) }))

	for event, h := range map[string]func(...string) hookBinder{
		EventCreate: func(tags ...string) hookBinder { return app.OnRecordCreate(tags...) },
		EventUpdate: func(tags ...string) hookBinder { return app.OnRecordUpdate(tags...) },
		EventDelete: func(tags ...string) hookBinder { return app.OnRecordDelete(tags...) },
	} {
		h().BindFunc(func(e *core.RecordEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			return p.enqueue(e.Context, event, e.Record)
		})
	}
	return nil
}

// hookBinder is what the record hooks have in common here.
type hookBinder interface {
	BindFunc(fn func(e *core.RecordEvent) error) string
}

// enabled returns the enabled webhooks, from the cache or read into it.
func (p *Plugin) enabled(ctx context.Context) ([]webhook, error) {
	if hooks := p.cache.Load(); hooks != nil {
		return *hooks, nil
	}
	p.mu.Lock()
	gen := p.gen
	p.mu.Unlock()
	var hooks []webhook
	if err := p.app.ReadDB(ctx).Where("enabled = ?", true).Find(&hooks).Error; err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.gen == gen { // not cleared while reading: hooks are current
		p.cache.Store(&hooks)
	}
	p.mu.Unlock()
	return hooks, nil
}

// clear drops the cached webhooks; the next record write reads them again.
func (p *Plugin) clear() {
	p.mu.Lock()
	p.gen++
	p.cache.Store(nil)
	p.mu.Unlock()
}

// changed clears the cache here and on every other live instance, after
// a webhook was created, changed or deleted.
func (p *Plugin) changed(ctx context.Context) {
	p.clear()
	p.app.Cluster().Changed(ctx, sharedKind)
}

// DefaultRetryDelay is min(2^n seconds, 1h).
func DefaultRetryDelay(n int) time.Duration {
	if n < 0 {
		n = 0
	}
	if n >= 12 {
		return time.Hour
	}
	return min(time.Duration(1<<n)*time.Second, time.Hour)
}

// webhook is one row of _webhooks.
type webhook struct {
	ID         string `gorm:"column:id;primaryKey"`
	Collection string `gorm:"column:collection"`
	Events     string `gorm:"column:events"`
	URL        string `gorm:"column:url"`
	Secret     string `gorm:"column:secret"`
	Enabled    bool   `gorm:"column:enabled"`
	Created    string `gorm:"column:created"`
	Updated    string `gorm:"column:updated"`
}

func (webhook) TableName() string { return "_webhooks" }

func (w *webhook) events() []string {
	var ev []string
	_ = json.Unmarshal([]byte(w.Events), &ev)
	return ev
}

// delivery is one row of _webhook_deliveries: one attempt.
type delivery struct {
	ID           string `gorm:"column:id;primaryKey" json:"id"`
	Webhook      string `gorm:"column:webhook" json:"webhook"`
	Event        string `gorm:"column:event" json:"event"`
	RecordID     string `gorm:"column:recordId" json:"recordId"`
	Attempt      int    `gorm:"column:attempt" json:"attempt"`
	Status       string `gorm:"column:status" json:"status"`
	ResponseCode int    `gorm:"column:responseCode" json:"responseCode"`
	DurationMs   int64  `gorm:"column:durationMs" json:"durationMs"`
	Error        string `gorm:"column:error" json:"error"`
	Payload      string `gorm:"column:payload" json:"-"`
	Created      string `gorm:"column:created" json:"created"`
}

func (delivery) TableName() string { return "_webhook_deliveries" }

// payload is the delivery job's payload.
type payload struct {
	WebhookID  string          `json:"webhookId"`
	Event      string          `json:"event"`
	Collection string          `json:"collection"`
	Record     json.RawMessage `json:"record"`
}

// enqueue queues a delivery for each enabled webhook of the record's
// collection and event, in ctx's transaction.
func (p *Plugin) enqueue(ctx context.Context, event string, rec *core.Record) error {
	c := rec.Collection()
	hooks, err := p.enabled(ctx)
	if err != nil {
		return fmt.Errorf("webhooks: list: %w", err)
	}
	var data []byte
	for _, w := range hooks {
		if (w.Collection != c.Name && w.Collection != c.ID) || !slices.Contains(w.events(), event) {
			continue
		}
		if data == nil {
			if data, err = json.Marshal(rec.PublicExport(core.ExportOptions{ShowEmail: true})); err != nil {
				return err
			}
		}
		pl := payload{WebhookID: w.ID, Event: event, Collection: c.Name, Record: data}
		if _, err := p.app.Jobs().EnqueueTx(ctx, JobType, pl); err != nil {
			return err
		}
	}
	return nil
}

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// deliver is the job: one attempt, logged. An error retries it.
func (p *Plugin) deliver(ctx context.Context, job *core.Job) error {
	var pl payload
	if err := job.Decode(&pl); err != nil {
		return fmt.Errorf("%w: webhooks: bad payload: %v", core.SkipRetry, err)
	}
	var w webhook
	err := p.app.ReadDB(ctx).Where("id = ?", pl.WebhookID).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // deleted since: nothing to deliver
	}
	if err != nil {
		return err
	}
	if !w.Enabled {
		return nil
	}
	body, err := json.Marshal(map[string]any{"event": pl.Event, "collection": pl.Collection, "record": pl.Record})
	if err != nil {
		return err
	}
	var recID struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(pl.Record, &recID)
	raw, _ := json.Marshal(pl)
	d := &delivery{
		ID: security.NewID(), Webhook: w.ID, Event: pl.Event, RecordID: recID.ID,
		Attempt: job.Retried + 1, Status: StatusPending, Payload: string(raw),
	}

	start := time.Now()
	code, sendErr := p.send(ctx, &w, job.ID, pl.Event, body)
	d.DurationMs = time.Since(start).Milliseconds()
	d.ResponseCode = code
	if sendErr == nil {
		d.Status = StatusDelivered
	} else {
		d.Status = StatusFailed
		d.Error = sendErr.Error()
	}
	d.Created = core.FormatTime(p.app.Now())
	if err := p.app.DB(ctx).Create(d).Error; err != nil {
		p.app.Logger().ErrorContext(ctx, "webhook delivery log", "component", "webhooks", "error", err)
	}
	return sendErr
}

func (p *Plugin) send(ctx context.Context, w *webhook, deliveryID, event string, body []byte) (int, error) {
	// An instance that lacks the key a secret is sealed with (one not yet
	// restarted in a key rotation) fails the attempt; a retry may land on
	// one that has it.
	secret, err := p.app.OpenSecret(core.SecretWebhook, w.Secret)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hatchgrid-Webhooks")
	req.Header.Set(HeaderSignature, Sign(secret, body))
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, deliveryID)
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

var _ core.Plugin = (*Plugin)(nil)
