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
	Scenario    string  `json:"scenario"`
	Dialect     string  `json:"dialect"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	RPS         float64 `json:"rps"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
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
	elapsed := time.Since(start).Seconds()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Result{
		Scenario: name, Concurrency: concurrency, Seconds: elapsed,
		Requests: requests.Load(), Errors: errs.Load(), RPS: float64(requests.Load()) / elapsed,
		P50ms: ms(total.ValueAtQuantile(50)), P90ms: ms(total.ValueAtQuantile(90)),
		P99ms: ms(total.ValueAtQuantile(99)), MaxMs: ms(total.Max()),
	}
}
