package apis

import (
	"net/http"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
)

type healthHandlers struct{ app *core.App }

func registerHealthRoutes(g *echo.Group, app *core.App) {
	h := healthHandlers{app}
	g.GET("/health", h.check)
	g.HEAD("/health", h.check)
}

// healthBody is PocketBase's health response.
type healthBody struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Data    any    `json:"data"`
}

// superuserHealth is what superusers see in data: PocketBase's keys plus
// Hatchgrid's per-dependency report and the cluster's members.
type superuserHealth struct {
	core.HealthReport
	CanBackup           bool               `json:"canBackup"`
	RealIP              string             `json:"realIP"`
	PossibleProxyHeader string             `json:"possibleProxyHeader"`
	Cluster             core.ClusterStatus `json:"cluster"`
}

// clusterHealth is what accounts allowed to read admin:settings see in
// data.
type clusterHealth struct {
	Cluster core.ClusterStatus `json:"cluster"`
}

// check answers 200 in PocketBase's shape while the data database answers,
// and 503 when it does not, so load balancers stop sending traffic to an
// instance that cannot serve it.
func (h healthHandlers) check(c echo.Context) error {
	report := h.app.Health(c.Request().Context(), 2*time.Second)
	status, msg := http.StatusOK, "API is healthy."
	if report.Status == core.HealthDown {
		status, msg = http.StatusServiceUnavailable, "API is unhealthy."
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(status)
	}
	ctx := c.Request().Context()
	var data any = struct{}{}
	switch {
	case core.ActorFrom(ctx).IsSuperuser():
		data = superuserHealth{
			HealthReport:        report,
			RealIP:              c.RealIP(),
			PossibleProxyHeader: proxyHeader(c.Request()),
			Cluster:             h.app.Cluster().Status(ctx, &report),
		}
	case canSeeCluster(h.app, c):
		data = clusterHealth{Cluster: h.app.Cluster().Status(ctx, &report)}
	}
	return c.JSON(status, healthBody{Message: msg, Code: status, Data: data})
}

// proxyHeader names a header that suggests a reverse proxy in front, so an
// operator can see that client IPs would need it trusted.
func proxyHeader(r *http.Request) string {
	for _, h := range []string{"CF-Connecting-IP", "Fly-Client-IP", "X-Real-IP", "X-Forwarded-For"} {
		if r.Header.Get(h) != "" {
			return h
		}
	}
	return ""
}
