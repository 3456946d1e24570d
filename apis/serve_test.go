package apis_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestServeFiresOnServeAndStopsWithContext(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		inner := e.Server.Handler
		e.Server.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Served-By", "plugin")
			inner.ServeHTTP(w, r)
		})
		return e.Next()
	})

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- apis.Serve(ctx, app, apis.ServeOptions{OnListen: func(a net.Addr) { addrs <- a }})
	}()

	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("Serve returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not listen")
	}
	res, err := http.Get("http://" + addr.String() + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Served-By") != "plugin" {
		t.Fatalf("status %d, X-Served-By %q", res.StatusCode, res.Header.Get("X-Served-By"))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func TestServeReportsListenErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	app := coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.HTTP = ln.Addr().String() }))
	if err := apis.Serve(context.Background(), app, apis.ServeOptions{}); err == nil {
		t.Fatal("Serve on a taken port returned nil")
	}
}

// A listener handed to Serve (one inherited across a restart) is served
// as it is, whatever the configured address, and closed on return.
func TestServeOnAGivenListener(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.HTTP = "192.0.2.1:1" }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var restart func() error
	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		restart = e.Restart
		return e.Next()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	listening := make(chan net.Addr, 1)
	called := false
	go func() {
		done <- apis.Serve(ctx, app, apis.ServeOptions{
			Listener: ln,
			OnListen: func(a net.Addr) { listening <- a },
			Restart:  func() error { called = true; return nil },
		})
	}()
	if a := <-listening; a.String() != ln.Addr().String() {
		t.Fatalf("listening on %s, want %s", a, ln.Addr())
	}
	res, err := http.Get("http://" + ln.Addr().String() + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if restart == nil || restart() != nil || !called {
		t.Fatal("ServeEvent.Restart is not ServeOptions.Restart")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("the listener is still open after Serve returned")
	}
}
