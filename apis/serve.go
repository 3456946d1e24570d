package apis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/hatchgrid/hatchgrid/core"
)

// ServeOptions tune Serve.
type ServeOptions struct {
	// OnListen, if set, is called once the port is bound and before the
	// first connection is served, with the address (useful with port 0).
	OnListen func(addr net.Addr)
	// Listener, if set, is the socket to serve instead of listening on the
	// configured address, e.g. one inherited from the process that
	// re-executed this one. Serve closes it when it returns.
	Listener net.Listener
	// Restart is handed to OnServe handlers as ServeEvent.Restart.
	Restart func() error
}

// Serve runs the HTTP server of a bootstrapped app until ctx is done, then
// shuts it down gracefully: it stops accepting connections and lets
// in-flight requests finish within the configured shutdown timeout. It
// fires OnServe before listening.
func Serve(ctx context.Context, app *core.App, opts ServeOptions) error {
	cfg := app.Config()
	srv := &http.Server{
		Addr:              cfg.HTTP,
		Handler:           NewRouter(app),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    1 << 20,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	// Realtime streams never finish by themselves: end them so that
	// Shutdown does not wait its whole timeout.
	srv.RegisterOnShutdown(app.Realtime().CloseClients)

	event := &core.ServeEvent{App: app, Context: ctx, Server: srv, Restart: opts.Restart}
	err := app.OnServe().Trigger(event, func(e *core.ServeEvent) error {
		ln := opts.Listener
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", e.Server.Addr); err != nil {
				return fmt.Errorf("listen on %s: %w", e.Server.Addr, err)
			}
		}
		// OnListen runs before the first connection is accepted (they wait in
		// the listen backlog), so whatever it prints, such as the first-run
		// instructions, is out before the server answers anyone.
		app.Cluster().SetAddress(ln.Addr().String())
		if opts.OnListen != nil {
			opts.OnListen(ln.Addr())
		}
		served := make(chan error, 1)
		go func() { served <- e.Server.Serve(ln) }()

		select {
		case err := <-served:
			return err
		case <-ctx.Done():
		}
		app.Logger().Info("shutting down: waiting for in-flight requests", "timeout", cfg.Server.ShutdownTimeout.String())
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		err := e.Server.Shutdown(shutdownCtx)
		if serveErr := <-served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			return serveErr
		}
		return err
	})
	if opts.Listener != nil {
		_ = opts.Listener.Close() // also when a handler failed before the final link
	}
	return err
}
