package hatchgrid

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/datadir"
	"github.com/spf13/cobra"
)

// installLinkTTL is how long the first-run dashboard link works.
const installLinkTTL = 30 * time.Minute

func (h *Hatchgrid) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the web server (REST API and dashboard)",
		Long: "Start the web server (REST API and dashboard).\n\n" +
			"One server per data dir: serve holds an exclusive lock on it (" + datadir.FileName + ")\n" +
			"while it runs, and a second serve on the same data dir exits with status 1,\n" +
			"naming the first. Other commands (superuser, migrate, ...) work beside it.\n" +
			"SIGINT or SIGTERM stops it gracefully at any moment, start-up included; a\n" +
			"second signal exits at once.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sig := h.watchSignals(cmd.Context())
			defer sig.release()
			cfg, err := h.loadConfig(cmd)
			if err != nil {
				return err
			}
			return h.serve(sig, cfg)
		},
	}
	cmd.Flags().String("http", "", "address to listen on, host:port (default 127.0.0.1:8090; HG_HTTP)")
	return cmd
}

// serve runs the server until a signal: it takes the data dir's lock
// before anything touches the data dir, bootstraps the App, listens,
// records its address in the lock and serves. A process that serve
// re-executed (see handover) takes over the lock and the socket instead.
func (h *Hatchgrid) serve(sig *stopSignals, cfg *core.Config) error {
	ctx := sig.ctx
	if ctx.Err() != nil {
		return nil // stopped while reading the configuration
	}
	lock, inh, handoverErr, err := takeDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()

	app := h.newServerApp(cfg)
	sig.setLogger(app.Logger())
	if handoverErr != nil {
		app.Logger().Warn("started afresh: could not take over from the process before the restart", "error", handoverErr.Error())
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		if err := app.Shutdown(shutdownCtx); err != nil {
			app.Logger().Error("shutdown", "error", err)
		}
	}()

	ln, err := h.startUp(ctx, app, inh)
	sig.started()
	if err != nil {
		if s := sig.received(); s != nil && ctx.Err() != nil {
			app.Logger().Info("stopped during start-up", "signal", s.String())
			return nil
		}
		return err
	}

	opts := apis.ServeOptions{
		Listener: ln,
		OnListen: func(addr net.Addr) {
			if err := lock.SetAddress(addr.String()); err != nil {
				app.Logger().Warn("could not record the address in the data dir lock", "error", err.Error())
			}
			h.printBanner(ctx, app, addr)
		},
	}
	ho, err := newHandover(ln, lock, sig, h.args)
	if err != nil {
		app.Logger().Warn("a restart after a backup restore will close the listening socket", "error", err.Error())
	}
	if ho != nil {
		opts.Restart = ho.restart
	}
	if err := apis.Serve(ctx, app, opts); err != nil {
		return err
	}
	app.Logger().Info("server stopped")
	return nil
}

// takeDataDir takes the lock of dir, or the lock and the listening socket
// handed over by the process that re-executed this one. handoverErr says
// why a handover found in the environment was not taken.
func takeDataDir(dir string) (lock *datadir.Lock, inh *inherited, handoverErr, err error) {
	inh, handoverErr = takeHandover(dir)
	if inh != nil {
		return inh.lock, inh, nil, nil
	}
	lock, err = datadir.Acquire(dir, "serve")
	return lock, nil, handoverErr, err
}

// startUp bootstraps app, starts its workers and returns the listener:
// the inherited one, or a new one on the configured address. Each step
// stops when ctx ends.
func (h *Hatchgrid) startUp(ctx context.Context, app *core.App, inh *inherited) (ln net.Listener, err error) {
	if inh != nil {
		app.Logger().Info("restarted: took over the listening socket and the data dir lock", "address", inh.ln.Addr().String())
		defer func() {
			if err != nil {
				inh.ln.Close()
			}
		}()
	}
	if err := app.Bootstrap(ctx); err != nil {
		return nil, err
	}
	if err := app.StartWorkers(ctx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if inh != nil {
		return inh.ln, nil
	}
	addr := app.Config().HTTP
	if ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

func (h *Hatchgrid) printBanner(ctx context.Context, app *core.App, addr net.Addr) {
	base := "http://" + displayAddr(addr)
	fmt.Fprintf(h.stdout, "Hatchgrid %s started at %s\n", core.Version, base)
	fmt.Fprintf(h.stdout, "├─ REST API:  %s/api/\n", base)
	fmt.Fprintf(h.stdout, "├─ Dashboard: %s/_/\n", base)
	fmt.Fprintf(h.stdout, "├─ Database:  %s\n", app.Dialect().Name())
	fmt.Fprintf(h.stdout, "├─ Data dir:  %s\n", app.Config().DataDir)
	jobs := app.Jobs().Status()
	if jobs.Mode == core.JobsModeRedis {
		fmt.Fprintf(h.stdout, "└─ Jobs:      Redis, %d workers\n", jobs.Concurrency)
	} else {
		fmt.Fprintf(h.stdout, "└─ Jobs:      embedded, %d workers (no Redis: each job is journaled to the data dir before it is\n", jobs.Concurrency)
		fmt.Fprintf(h.stdout, "              acknowledged and survives a crash or power cut; set HG_REDIS_URL to run several instances)\n")
	}

	n, err := app.Superusers().Count(ctx)
	if err != nil || n > 0 {
		return
	}
	token, err := app.Superusers().NewInstallToken(ctx, installLinkTTL)
	if err != nil {
		app.Logger().Error("issue install token", "error", err)
		return
	}
	fmt.Fprintf(h.stdout, "\n(!) No superuser exists yet. Create the first one with:\n")
	cmd, note := h.superuserHint(app.Config())
	fmt.Fprintf(h.stdout, "    %s\n", cmd)
	if note != "" {
		fmt.Fprintf(h.stdout, "    (%s)\n", note)
	}
	fmt.Fprintf(h.stdout, "  or open this one-time link in a browser (valid %s, until a superuser exists):\n", installLinkTTL)
	fmt.Fprintf(h.stdout, "    %s/_/#/install/%s\n\n", base, token)
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
