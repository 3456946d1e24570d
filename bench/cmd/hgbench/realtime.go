package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hatchgrid/hatchgrid/bench/fanout"
)

// realtime runs the fan-out scenario: o.rtClients SSE clients on posts/*,
// o.rtEvents posts created one every o.rtInterval.
func (s *server) realtime(ctx context.Context, o options, seed *seeded) (fanout.Result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	pid := s.cmd.Process.Pid
	return fanout.Run(ctx, fanout.Options{
		Base: s.base, Clients: o.rtClients, Events: o.rtEvents, Interval: o.rtInterval,
		Topic: "posts/*", Wait: 10 * time.Second,
		Memory: func() float64 { kb, _ := rss(pid); return float64(kb) / 1024 },
		Create: func(ctx context.Context, title string) error {
			body, _ := json.Marshal(map[string]any{"title": title, "status": "draft", "author": seed.authorID})
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/collections/posts/records", bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("create: %d", res.StatusCode)
			}
			return nil
		},
	})
}
