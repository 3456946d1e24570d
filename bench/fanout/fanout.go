// Package fanout measures realtime delivery: N clients subscribe to a
// topic over PocketBase's SSE protocol (GET /api/realtime, PB_CONNECT's
// clientId, POST /api/realtime with the subscriptions), then M records are
// created at a steady pace, each carrying its send time in its title, and
// every client notes when each event reaches it. The latency of a delivery
// is from the moment its create was sent to the moment a client read it.
package fanout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Options describe one fan-out run.
type Options struct {
	// Base is the server's URL, e.g. http://127.0.0.1:8090.
	Base string
	// Clients is how many SSE clients subscribe; Events how many records
	// are created, one every Interval.
	Clients, Events int
	Interval        time.Duration
	// Topic is the subscription, e.g. "posts/*".
	Topic string
	// Create creates one record of the topic's collection whose title is
	// title; the run calls it from several goroutines.
	Create func(ctx context.Context, title string) error
	// Memory returns the server's current resident memory in MiB.
	Memory func() float64
	// Wait bounds the wait for the last deliveries after the last create.
	Wait time.Duration
}

// Result is a run's outcome, printed as one JSON line.
type Result struct {
	Scenario   string  `json:"scenario"`
	Dialect    string  `json:"dialect"`
	Clients    int     `json:"clients"`
	Connected  int     `json:"connected"`
	Events     int     `json:"events"`
	IntervalMs float64 `json:"interval_ms"`
	// Deliveries counts the events clients read; Expected is clients x
	// events.
	Deliveries   int64 `json:"deliveries"`
	Expected     int64 `json:"expected"`
	CreateErrors int64 `json:"create_errors"`
	// Per-delivery latency, from the create's send to a client's read.
	P50ms float64 `json:"p50_ms"`
	P90ms float64 `json:"p90_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// EventsToAll counts the events that reached every connected client;
	// AllP50ms and AllMaxMs are over events of the time their last
	// client got them.
	EventsToAll int     `json:"events_to_all"`
	AllP50ms    float64 `json:"all_p50_ms"`
	AllMaxMs    float64 `json:"all_max_ms"`
	// The server's resident memory before the clients connected, with
	// them connected (before any event) and after the events.
	RSSIdleMB      float64 `json:"rss_idle_mb"`
	RSSConnectedMB float64 `json:"rss_connected_mb"`
	RSSAfterMB     float64 `json:"rss_after_mb"`
	ConnectSeconds float64 `json:"connect_seconds"`
}

// event is what the clients learn about one created record.
type event struct {
	received atomic.Int64
	// slowest is the latest delivery's latency in microseconds.
	slowest atomic.Int64
}

// Run connects the clients, creates the records and reports.
func Run(ctx context.Context, o Options) (Result, error) {
	res := Result{Scenario: "realtime", Clients: o.Clients, Events: o.Events, IntervalMs: float64(o.Interval) / float64(time.Millisecond)}
	res.Expected = int64(o.Clients) * int64(o.Events)
	res.RSSIdleMB = o.Memory()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make([]event, o.Events)
	var delivered atomic.Int64
	// Every stream has its own connection; a shared client posts the
	// subscriptions.
	streams := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
	posts := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	readers := make([]*reader, o.Clients)
	var wg sync.WaitGroup
	var connectErr error
	var mu sync.Mutex
	sem := make(chan struct{}, 32)
	start := time.Now()
	for i := range readers {
		readers[i] = &reader{events: events, delivered: &delivered, hist: newHistogram()}
		wg.Add(1)
		sem <- struct{}{}
		go func(r *reader) {
			defer wg.Done()
			err := r.connect(ctx, streams, posts, o.Base, o.Topic)
			<-sem
			if err != nil {
				mu.Lock()
				connectErr = errors.Join(connectErr, err)
				mu.Unlock()
				return
			}
			go r.read()
		}(readers[i])
	}
	wg.Wait()
	res.ConnectSeconds = time.Since(start).Seconds()
	for _, r := range readers {
		if r.body != nil {
			res.Connected++
		}
	}
	if res.Connected == 0 {
		return res, fmt.Errorf("no realtime client connected: %w", connectErr)
	}
	res.RSSConnectedMB = o.Memory()

	var createErrs atomic.Int64
	var creates sync.WaitGroup
	tick := time.NewTicker(o.Interval)
	for i := 0; i < o.Events; i++ {
		if i > 0 {
			<-tick.C
		}
		creates.Add(1)
		go func(i int) {
			defer creates.Done()
			title := fmt.Sprintf("rt %d %d", i, time.Now().UnixNano())
			if err := o.Create(ctx, title); err != nil {
				createErrs.Add(1)
			}
		}(i)
	}
	tick.Stop()
	creates.Wait()
	want := int64(res.Connected) * int64(o.Events)
	for deadline := time.Now().Add(o.Wait); delivered.Load() < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	res.RSSAfterMB = o.Memory()
	cancel()
	for _, r := range readers {
		r.close()
	}

	total := newHistogram()
	for _, r := range readers {
		r.mu.Lock()
		total.Merge(r.hist)
		r.mu.Unlock()
	}
	all := newHistogram()
	for i := range events {
		if events[i].received.Load() == int64(res.Connected) {
			res.EventsToAll++
		}
		if events[i].received.Load() > 0 {
			_ = all.RecordValue(events[i].slowest.Load())
		}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	res.Deliveries, res.CreateErrors = delivered.Load(), createErrs.Load()
	res.P50ms, res.P90ms = ms(total.ValueAtQuantile(50)), ms(total.ValueAtQuantile(90))
	res.P99ms, res.MaxMs = ms(total.ValueAtQuantile(99)), ms(total.Max())
	res.AllP50ms, res.AllMaxMs = ms(all.ValueAtQuantile(50)), ms(all.Max())
	return res, nil
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
}

// reader is one SSE client.
type reader struct {
	events    []event
	delivered *atomic.Int64

	body io.ReadCloser
	br   *bufio.Reader
	done chan struct{}

	mu   sync.Mutex
	hist *hdrhistogram.Histogram
}

// connect opens the stream, reads PB_CONNECT and subscribes to topic.
func (r *reader) connect(ctx context.Context, streams, posts *http.Client, base, topic string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/realtime", nil)
	if err != nil {
		return err
	}
	res, err := streams.Do(req)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return fmt.Errorf("GET /api/realtime: %d", res.StatusCode)
	}
	br := bufio.NewReader(res.Body)
	name, data, err := nextEvent(br)
	if err != nil || name != "PB_CONNECT" {
		res.Body.Close()
		return fmt.Errorf("no PB_CONNECT (%q): %v", name, err)
	}
	var hello struct {
		ClientID string `json:"clientId"`
	}
	if err := json.Unmarshal(data, &hello); err != nil || hello.ClientID == "" {
		res.Body.Close()
		return fmt.Errorf("PB_CONNECT without clientId: %s", data)
	}
	body, _ := json.Marshal(map[string]any{"clientId": hello.ClientID, "subscriptions": []string{topic}})
	sub, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/realtime", bytes.NewReader(body))
	if err != nil {
		res.Body.Close()
		return err
	}
	sub.Header.Set("Content-Type", "application/json")
	sres, err := posts.Do(sub)
	if err != nil {
		res.Body.Close()
		return err
	}
	_, _ = io.Copy(io.Discard, sres.Body)
	sres.Body.Close()
	if sres.StatusCode != http.StatusNoContent {
		res.Body.Close()
		return fmt.Errorf("POST /api/realtime: %d", sres.StatusCode)
	}
	r.body, r.br, r.done = res.Body, br, make(chan struct{})
	return nil
}

// read notes each record event until the stream ends.
func (r *reader) read() {
	defer close(r.done)
	var msg struct {
		Record struct {
			Title string `json:"title"`
		} `json:"record"`
	}
	for {
		name, data, err := nextEvent(r.br)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		if name == "PB_CONNECT" || json.Unmarshal(data, &msg) != nil {
			continue
		}
		// "rt <event> <send time in ns>"
		f := strings.Fields(msg.Record.Title)
		if len(f) != 3 || f[0] != "rt" {
			continue
		}
		i, err1 := strconv.Atoi(f[1])
		sent, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || i < 0 || i >= len(r.events) {
			continue
		}
		us := (now - sent) / 1000
		r.mu.Lock()
		_ = r.hist.RecordValue(max(us, 1))
		r.mu.Unlock()
		ev := &r.events[i]
		ev.received.Add(1)
		for {
			old := ev.slowest.Load()
			if us <= old || ev.slowest.CompareAndSwap(old, us) {
				break
			}
		}
		r.delivered.Add(1)
	}
}

func (r *reader) close() {
	if r.body == nil {
		return
	}
	r.body.Close()
	<-r.done
}

// nextEvent reads one server-sent event, skipping comments (pings).
func nextEvent(br *bufio.Reader) (name string, data []byte, err error) {
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return "", nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if name != "" || data != nil {
				return name, data, nil
			}
		case line[0] == ':':
		default:
			k, v, _ := bytes.Cut(line, []byte(":"))
			v = bytes.TrimPrefix(v, []byte(" "))
			switch string(k) {
			case "event":
				name = string(v)
			case "data":
				data = append(data, v...)
			}
		}
	}
}
