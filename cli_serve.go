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

	app := h.newApp(cfg)
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

	err := apis.Serve(ctx, app, apis.ServeOptions{
		OnListen: func(addr net.Addr) { h.printBanner(ctx, app, addr) },
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
		fmt.Fprintf(h.stdout, "└─ Jobs:      embedded, %d workers (no Redis: the queue is saved to the data dir every %s;\n",
			jobs.Concurrency, app.Config().Jobs.SnapshotInterval)
		fmt.Fprintf(h.stdout, "              a crash can lose up to that much queue state; set HG_REDIS_URL in production)\n")
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
