package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
)

// call sends a JSON request to s and returns the status and body.
func call(t *testing.T, s *server, method, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestWebhookSurvivesKill9 (embedded mode): a record created while the
// webhook receiver fails, then kill -9 at once; after a restart on the same
// data dir, with the receiver now answering 204, the signed delivery
// arrives.
//
// In embedded mode the outbox row outlives the in-process queue's next
// snapshot: it stays until its job finishes, so a restart after a kill -9
// dispatches it again.
func TestWebhookSurvivesKill9(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	// The receiver is on 127.0.0.1: webhooks may call it only with private
	// addresses allowed.
	env := append(dbEnv(t), "HG_LOG_LEVEL=warn", "HG_OUTBOUND_WEBHOOKS_PRIVATE=true")

	var healthy atomic.Bool
	var mu sync.Mutex
	var failed int
	var got []*http.Request
	var bodies []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !healthy.Load() {
			failed++
			w.WriteHeader(500)
			return
		}
		got = append(got, r)
		bodies = append(bodies, string(b))
		w.WriteHeader(204)
	}))
	defer receiver.Close()

	s := startServer(t, dir, env)
	cli := exec.Command(binary, "superuser", "upsert", "root@example.com", "Secret12345", "--dir", dir)
	cli.Env = append(os.Environ(), env...)
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out)
	}
	code, body := call(t, s, "POST", "/api/collections/_superusers/auth-with-password",
		`{"identity":"root@example.com","password":"Secret12345"}`, "")
	if code != 200 {
		t.Fatalf("sign in: %d %s", code, body)
	}
	var auth struct{ Token string }
	json.Unmarshal([]byte(body), &auth)
	if code, body := call(t, s, "POST", "/api/collections",
		`{"name":"posts","type":"base","fields":[{"name":"title","type":"text"}]}`, auth.Token); code != 200 {
		t.Fatalf("create collection: %d %s", code, body)
	}
	if code, body := call(t, s, "POST", "/api/hg/webhooks",
		`{"collection":"posts","events":["create"],"url":"`+receiver.URL+`","secret":"e2e-secret"}`, auth.Token); code != 200 {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	code, body = call(t, s, "POST", "/api/collections/posts/records", `{"title":"crash me"}`, auth.Token)
	if code != 200 {
		t.Fatalf("create record: %d %s", code, body)
	}
	var rec struct{ ID string }
	json.Unmarshal([]byte(body), &rec)

	s.cmd.Process.Kill() // kill -9, at once
	<-s.done
	mu.Lock()
	t.Logf("receiver answered 500 %d times before the kill", failed)
	mu.Unlock()

	healthy.Store(true)
	start := time.Now()
	again := startServer(t, dir, env)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery within 30s of the restart\nstderr:\n%s", again.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("delivered %s after the restart began", time.Since(start).Round(time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	r, b := got[0], bodies[0]
	if sig := r.Header.Get(webhooks.HeaderSignature); sig != webhooks.Sign("e2e-secret", []byte(b)) {
		t.Fatalf("signature %q, want %q", sig, webhooks.Sign("e2e-secret", []byte(b)))
	}
	if !strings.Contains(b, rec.ID) || r.Header.Get(webhooks.HeaderEvent) != webhooks.EventCreate {
		t.Fatalf("delivery %s %q: %s", r.Header.Get(webhooks.HeaderEvent), r.Header.Get(webhooks.HeaderSignature), b)
	}
	if code := again.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
