//go:build faults

package faults_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slowConns and readHeaderTimeout: how many slowloris connections, and the
// server.read_header_timeout serve runs with (the default is 10s; shorter
// here to keep the test short).
const (
	slowConns         = 1000
	readHeaderTimeout = 2 * time.Second
)

// TestSlowloris opens slowConns connections that send a request's headers
// one byte every 200ms: a normal client is still served at once
// throughout, and serve closes every slow connection once
// server.read_header_timeout has passed.
func TestSlowloris(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"),
		[]string{"HG_SERVER_READ_HEADER_TIMEOUT=" + readHeaderTimeout.String()})

	closed := make(chan time.Duration, slowConns)
	start := time.Now()
	for i := range slowConns {
		dialed := time.Now()
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		t.Cleanup(func() { conn.Close() })
		go slowClient(conn, dialed, closed)
	}
	opened := time.Since(start)

	// A normal client, a new connection per request, while they dribble.
	normal := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var served latencies
	for time.Since(start) < readHeaderTimeout+time.Second {
		t0 := time.Now()
		res, err := normal.Get(s.url + "/api/health")
		if err != nil {
			t.Fatalf("normal client with %d slow connections open: %v", slowConns, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("normal client: %d", res.StatusCode)
		}
		served.add(time.Since(t0))
		time.Sleep(20 * time.Millisecond)
	}

	var lifetimes []time.Duration
	timeout := time.After(readHeaderTimeout + 10*time.Second)
	for len(lifetimes) < slowConns {
		select {
		case d := <-closed:
			lifetimes = append(lifetimes, d)
		case <-timeout:
			t.Fatalf("%d of %d slow connections still open %s after the header timeout", slowConns-len(lifetimes), slowConns, 10*time.Second)
		}
	}
	slices.Sort(lifetimes)
	n, maxServed := served.get()
	t.Logf("slowloris: %d slow connections opened in %s; a normal client got %d answers meanwhile, all 200, max latency %s; "+
		"serve closed the slow connections after %s (first) to %s (last), read_header_timeout %s",
		slowConns, opened.Round(time.Millisecond), n, maxServed.Round(time.Millisecond),
		lifetimes[0].Round(time.Millisecond), lifetimes[len(lifetimes)-1].Round(time.Millisecond), readHeaderTimeout)
	if maxServed > time.Second {
		t.Errorf("a normal request took %s with slow connections open", maxServed)
	}
	if lifetimes[0] < readHeaderTimeout-100*time.Millisecond {
		t.Errorf("a slow connection was closed after %s, before the header timeout", lifetimes[0])
	}
	if last := lifetimes[len(lifetimes)-1]; last > readHeaderTimeout+3*time.Second {
		t.Errorf("a slow connection lived %s, well past the header timeout %s", last, readHeaderTimeout)
	}
}

// slowClient sends a request head one byte every 200ms, never finishing
// it, and reports how long the connection, dialed at start, lived once the
// server closed it.
func slowClient(conn net.Conn, start time.Time, closed chan<- time.Duration) {
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn) // until the server closes the connection
		closed <- time.Since(start)
		close(done)
	}()
	head := "GET /api/health HTTP/1.1\r\nHost: slow\r\n" + strings.Repeat("X-Slow: yes\r\n", 1000)
	for i := 0; i < len(head); i++ {
		if _, err := conn.Write([]byte{head[i]}); err != nil {
			return
		}
		select {
		case <-done:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// upload is the outcome of one oversized upload.
type upload struct {
	status  int
	body    string
	sent    int64
	elapsed time.Duration
}

// TestHugeUploadRefusedEarly streams a 1 GiB multipart upload to a record
// whose file field takes 1 MiB: declared in Content-Length it gets a 413
// before the body is read (what the client sent by then is what the
// kernel's buffers took); with Expect: 100-continue no body byte leaves
// the client; sent chunked, without a length, it is cut off at the
// collection's body limit.
func TestHugeUploadRefusedEarly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, nil)
	admin := newClient(s, 10*time.Second)
	superuser(t, s, dir, nil, admin)
	admin.must(t, "POST", "/api/collections", `{"name":"docs","type":"base","createRule":"",
		"fields":[{"name":"title","type":"text"},{"name":"doc","type":"file","maxSelect":1,"maxSize":1048576}]}`, 200, nil)

	const size = 1 << 30
	const limit = 32<<20 + 1<<20 // server.body_limit (32MiB) + the file field's maxSize
	for _, tc := range []struct {
		name     string
		expect   bool
		chunked  bool
		maxBytes int64
	}{
		{"content-length", false, false, 16 << 20},
		{"expect-100-continue", true, false, 0},
		{"chunked", false, true, limit + 16<<20},
	} {
		u := hugeUpload(t, s, size, tc.expect, tc.chunked)
		t.Logf("1 GiB upload (%s): %d after %s, %d bytes sent (%.2f%% of 1 GiB) before the answer",
			tc.name, u.status, u.elapsed.Round(time.Millisecond), u.sent, 100*float64(u.sent)/size)
		if u.status != 413 || !strings.Contains(u.body, `"status":413`) {
			t.Errorf("%s: %d %s, want a 413 in PocketBase's shape", tc.name, u.status, u.body)
		}
		if u.sent > tc.maxBytes {
			t.Errorf("%s: %d bytes sent before the answer, want at most %d", tc.name, u.sent, tc.maxBytes)
		}
		if u.elapsed > 10*time.Second {
			t.Errorf("%s: the answer took %s", tc.name, u.elapsed)
		}
	}
	if !s.alive() {
		t.Fatal("serve exited")
	}
	admin.must(t, "GET", "/api/health", "", 200, nil)
}

// hugeUpload POSTs a multipart body of size bytes over a raw connection,
// writing as fast as the connection takes it until the answer arrives, and
// counts the body bytes written by then.
func hugeUpload(t *testing.T, s *server, size int64, expect, chunked bool) upload {
	t.Helper()
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const boundary = "faultsboundary"
	head := "POST /api/collections/docs/records HTTP/1.1\r\nHost: " + s.addr + "\r\n" +
		"Content-Type: multipart/form-data; boundary=" + boundary + "\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n", size)
	}
	if expect {
		head += "Expect: 100-continue\r\n"
	}
	start := time.Now()
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	answered := make(chan upload, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		u := upload{sent: sent.Load(), elapsed: time.Since(start)}
		if err != nil {
			u.body = err.Error()
		} else {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
			u.status, u.body = res.StatusCode, string(b)
		}
		answered <- u
	}()
	if !expect {
		go streamBody(conn, size, chunked, boundary, &sent, answered)
	}
	select {
	case u := <-answered:
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer within 30s; %d bytes sent", sent.Load())
		return upload{}
	}
}

// streamBody writes a file part of zeros until size bytes are out, a write
// fails or the answer is in.
func streamBody(conn net.Conn, size int64, chunked bool, boundary string, sent *atomic.Int64, answered chan upload) {
	part := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"big.bin\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\n"
	chunk := make([]byte, 64<<10)
	copy(chunk, part)
	for sent.Load() < size && len(answered) == 0 {
		n := int64(len(chunk))
		if sent.Load()+n > size {
			n = size - sent.Load()
		}
		var err error
		if chunked {
			_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", n, chunk[:n])
		} else {
			_, err = conn.Write(chunk[:n])
		}
		if err != nil {
			return
		}
		sent.Add(n)
		clear(chunk[:len(part)])
	}
}
