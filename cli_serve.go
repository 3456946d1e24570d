package hatchgrid

import (
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"
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
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := h.loadConfig(cmd)
			if err != nil {
				return err
			}
			return h.serve(cmd.Context(), cfg)
		},
	}
	cmd.Flags().String("http", "", "address to listen on, host:port (default 127.0.0.1:8090; HG_HTTP)")
	return cmd
}

func (h *Hatchgrid) serve(parent context.Context, cfg *core.Config) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	lock, err := datadir.Acquire(cfg.DataDir, "serve")
	if err != nil {
		return err
	}
	defer lock.Release()
	app := h.newServerApp(cfg)
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		if err := app.Shutdown(shutdownCtx); err != nil {
			app.Logger().Error("shutdown", "error", err)
		}
	}()
	if err := app.Bootstrap(ctx); err != nil {
		return err
	}
	if err := app.StartWorkers(ctx); err != nil {
		return err
	}

	err = apis.Serve(ctx, app, apis.ServeOptions{
		OnListen: func(addr net.Addr) {
			if err := lock.SetAddress(addr.String()); err != nil {
				app.Logger().Warn("could not record the address in the data dir lock", "error", err.Error())
			}
			h.printBanner(ctx, app, addr)
		},
	})
	if err != nil {
		return err
	}
	app.Logger().Info("server stopped")
	return nil
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
	fmt.Fprintf(h.stdout, "    hatchgrid superuser upsert EMAIL PASSWORD --dir %s\n", app.Config().DataDir)
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
