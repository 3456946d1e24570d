package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// signInAs signs the superuser in from a device (user agent) of its own
// and returns the token.
func signInAs(t *testing.T, s *server, userAgent string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/api/collections/_superusers/auth-with-password",
		strings.NewReader(`{"identity":"root@example.com","password":"Secret12345"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var auth struct{ Token string }
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&auth) != nil {
		t.Fatalf("sign in as %s: %d", userAgent, res.StatusCode)
	}
	return auth.Token
}

// smtpNowhere points the server's SMTP at a local port where nothing
// listens, so that its mail jobs fail and wait in the retry state.
func smtpNowhere(t *testing.T, s *server, token string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	body := fmt.Sprintf(`{"smtp":{"enabled":true,"host":"127.0.0.1","port":%d}}`, port)
	req, _ := http.NewRequest("PATCH", s.url+"/api/settings", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("PATCH /api/settings: %d", res.StatusCode)
	}
}

// TestJobsLsBesideServer: `jobs ls` beside a running embedded-mode server
// lists the server's live jobs (here the login alerts of sign-ins from new
// devices) through its API, and returns promptly.
func TestJobsLsBesideServer(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := append(dbEnv(t), "HG_LOG_LEVEL=warn")
	s := startServer(t, dir, env)
	runCLI(t, env, "superuser", "upsert", "root@example.com", "Secret12345", "--dir", dir)
	// Delivered mail keeps no completed copy (docs/security.md): the
	// alerts stay in the queue, retrying, while SMTP is unreachable.
	smtpNowhere(t, s, signInAs(t, s, "device-0"))
	for i := 1; i < 4; i++ {
		signInAs(t, s, fmt.Sprintf("device-%d", i))
	}

	var out string
	deadline := time.Now().Add(20 * time.Second)
	for {
		start := time.Now()
		cmd := exec.Command(binary, "jobs", "ls", "--queue", "critical", "--dir", dir)
		cmd.Env = append(os.Environ(), env...)
		b, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("jobs ls: %v\n%s", err, b)
		}
		if took > 10*time.Second {
			t.Fatalf("jobs ls took %s", took)
		}
		out = string(b)
		if strings.Count(out, "mail.send") >= 3 {
			t.Logf("jobs ls beside the server took %s", took.Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs ls never listed the server's three login alerts:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out, "asking the server running on this data dir") {
		t.Fatalf("jobs ls did not ask the server:\n%s", out)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// writeLargeSnapshot writes a saved embedded queue of n keys of 2 KB
// each, in the snapshot format, to dir.
func writeLargeSnapshot(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "jobs.snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.Encode(map[string]any{"version": 2, "savedAt": time.Now().UTC(), "keys": n, "journalSeq": 0})
	value := []byte(strings.Repeat("x", 2048))
	for i := range n {
		enc.Encode(map[string]any{"k": []byte(fmt.Sprintf("filler:%d", i)), "t": "string", "v": [][]byte{value}})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestSuperuserUpsertBesideServerWithLargeQueue: CLI commands beside a
// server never open the embedded queue, so a large saved queue costs them
// nothing (before, each restored it, and a snapshot over a few KB hung
// them for good).
func TestSuperuserUpsertBesideServerWithLargeQueue(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := append(dbEnv(t), "HG_LOG_LEVEL=warn")
	writeLargeSnapshot(t, dir, 50_000) // ~130 MB
	s := startServer(t, dir, env)
	start := time.Now()
	cmd := exec.Command(binary, "superuser", "upsert", "root@example.com", "Secret12345", "--dir", dir)
	cmd.Env = append(os.Environ(), env...)
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("superuser upsert: %v\n%s", err, out)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("superuser upsert beside the server did not return within 20s")
	}
	took := time.Since(start)
	t.Logf("superuser upsert beside a server with a 50,000-key saved queue took %s", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Fatalf("superuser upsert took %s", took)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
