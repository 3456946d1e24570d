// Package loadgen drives HTTP load for Hatchgrid's benchmarks: a fixed
// number of workers send requests for a fixed time, and every latency goes
// into an HDR histogram so percentiles are exact to three significant
// digits. It uses only the standard library's HTTP client.
package loadgen

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Request builds one request; i counts the requests of a worker, so
// scenarios can vary ids.
type Request func(worker, i int) (*http.Request, error)

// Result is one scenario's outcome, printed as one JSON line.
type Result struct {
	Scenario string `json:"scenario"`
	Dialect  string `json:"dialect"`
	// Target names the server measured when it is not Hatchgrid itself
	// (a floor).
	Target      string  `json:"target,omitempty"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	RPS         float64 `json:"rps"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// ServerCPUus is the server's CPU time (user and system) per request
	// in microseconds, when the caller measured it: unlike rps it hardly
	// moves when other processes compete for the machine.
	ServerCPUus float64 `json:"server_cpu_us,omitempty"`

	hist *hdrhistogram.Histogram
	// cpu is the server's CPU time during the run, for Merge.
	cpu time.Duration
}

// Merge adds o, a run of the same scenario against the same target, to r:
// requests, errors and time add up, and the percentiles are those of both
// runs' latencies together. It is how runs interleaved with others (A B
// A B) make one figure.
func (r Result) Merge(o Result) Result {
	if r.hist == nil {
		return o
	}
	h := hdrhistogram.Import(r.hist.Export())
	h.Merge(o.hist)
	out := summarize(h, r.Requests+o.Requests, r.Errors+o.Errors, r.Seconds+o.Seconds)
	out.Scenario, out.Dialect, out.Target, out.Concurrency = r.Scenario, r.Dialect, r.Target, r.Concurrency
	if r.cpu > 0 && o.cpu > 0 {
		out.SetServerCPU(r.cpu + o.cpu)
	}
	return out
}

// SetServerCPU records that the server spent cpu (user and system time)
// during the run.
func (r *Result) SetServerCPU(cpu time.Duration) {
	r.cpu = cpu
	if r.Requests > 0 {
		r.ServerCPUus = float64(cpu.Microseconds()) / float64(r.Requests)
	}
}

func summarize(h *hdrhistogram.Histogram, requests, errs int64, seconds float64) Result {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Result{
		Seconds: seconds, Requests: requests, Errors: errs, RPS: float64(requests) / seconds,
		P50ms: ms(h.ValueAtQuantile(50)), P90ms: ms(h.ValueAtQuantile(90)),
		P99ms: ms(h.ValueAtQuantile(99)), MaxMs: ms(h.Max()),
		hist: h,
	}
}

// Run sends requests from concurrency workers for d and reports. A
// response with an unexpected status counts as an error.
func Run(ctx context.Context, client *http.Client, name string, concurrency int, d time.Duration, wantStatus int, req Request) Result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	var mu sync.Mutex
	total := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	var requests, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
			for i := 0; ctx.Err() == nil; i++ {
				r, err := req(w, i)
				if err != nil {
					errs.Add(1)
					continue
				}
				t0 := time.Now()
				res, err := client.Do(r.WithContext(ctx))
				if err != nil {
					if ctx.Err() != nil {
						break // the run ended mid-request: not an error
					}
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				_ = local.RecordValue(time.Since(t0).Microseconds())
				requests.Add(1)
				if res.StatusCode != wantStatus {
					errs.Add(1)
				}
			}
			mu.Lock()
			total.Merge(local)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res := summarize(total, requests.Load(), errs.Load(), time.Since(start).Seconds())
	res.Scenario, res.Concurrency = name, concurrency
	return res
}
