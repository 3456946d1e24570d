# syntax=docker/dockerfile:1
#
# Hatchgrid container image.
#
#   docker build -t hatchgrid --build-arg VERSION=$(git describe --tags --always --dirty) .
#   docker run -p 8090:8090 -v hatchgrid_data:/data hatchgrid
#
# Two stages: the binary is built with cgo (mattn/go-sqlite3 is C) on the
# official Go image, then copied onto debian:bookworm-slim. Builder and runtime
# are the same Debian release, so the glibc the binary links against is the one
# it runs on. Needs BuildKit (the default builder since Docker 23) for the
# heredoc and cache mounts below.

############################ build ############################
FROM golang:1.26-bookworm AS build

# The golang image sets GOTOOLCHAIN=local: go.mod's "go 1.26.x" line must not
# be newer than the image's Go; pull a fresh golang:1.26-bookworm if it is.
ENV CGO_ENABLED=1
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum
# change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

# Health probe: a static, stdlib-only Go program, so the runtime image needs
# neither curl nor a shell to check itself. GET <url> (default: /api/health on
# the port of HG_HTTP, via 127.0.0.1 unless HG_HTTP names a specific host)
# and exit 0 only on 200.
COPY <<'EOF' /probe/main.go
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	url := "http://127.0.0.1:8090/api/health"
	if len(os.Args) > 1 {
		url = os.Args[1]
	} else if host, port, err := net.SplitHostPort(os.Getenv("HG_HTTP")); err == nil {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		url = "http://" + net.JoinHostPort(host, port) + "/api/health"
	}
	client := http.Client{Timeout: 4 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		os.Exit(1)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "unhealthy:", url, "returned", resp.Status)
		os.Exit(1)
	}
}
EOF
RUN cd /probe && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/healthcheck main.go

COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath \
      -ldflags "-s -w -X github.com/hatchgrid/hatchgrid/core.Version=${VERSION}" \
      -o /out/hatchgrid ./cmd/hatchgrid

########################### runtime ###########################
FROM debian:bookworm-slim

ARG VERSION=dev
LABEL org.opencontainers.image.title="Hatchgrid" \
      org.opencontainers.image.description="Self-hosted backend in one Go binary" \
      org.opencontainers.image.source="https://github.com/hatchgrid/hatchgrid" \
      org.opencontainers.image.version="${VERSION}"

# ca-certificates: outgoing TLS (PostgreSQL/Redis with TLS, OAuth2, SMTP,
# webhooks). tzdata: time zones for cron schedules and date handling.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*

# Unprivileged user with a fixed uid/gid, so volume ownership is predictable
# and orchestrators can verify runAsNonRoot. /data must be created and chowned
# before VOLUME: a fresh named volume copies this ownership.
RUN groupadd --system --gid 10001 hatchgrid \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin hatchgrid \
 && mkdir -p /data \
 && chown 10001:10001 /data

COPY --from=build /out/hatchgrid /usr/local/bin/hatchgrid
COPY --from=build /out/healthcheck /usr/local/bin/healthcheck

USER 10001:10001
VOLUME /data
WORKDIR /data

# Collection migrations (plugins/migratecmd, docs/migrations.md) are read
# from /hg_migrations, beside the data dir: COPY a project's hg_migrations
# there in an image built FROM this one, or mount it.
#
# Any config key can be set the same way: HG_ + its path in upper case with
# dots as underscores (HG_DATABASE_URL, HG_REDIS_URL, HG_ENCRYPTION_KEY, ...).
ENV HG_DATA_DIR=/data \
    HG_HTTP=0.0.0.0:8090

EXPOSE 8090

# GET http://127.0.0.1:8090/api/health (the port follows HG_HTTP); 503 while
# the database is unreachable marks the container unhealthy. The start period
# covers the migrations that serve applies on start.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/healthcheck"]

ENTRYPOINT ["/usr/local/bin/hatchgrid"]
CMD ["serve"]
