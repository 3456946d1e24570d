# Hatchgrid's build and test entry points. `make test` is what CI runs.

GO            ?= go
GOFLAGS_TEST  ?= -count=1 -p 2 -timeout 10m
# Packages whose concurrency is worth the race detector's cost.
RACE_PKGS     := ./core/hook/... ./core/ ./apis/...
PG_URL        ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
BIN           := bin/hatchgrid
LDFLAGS       := -s -w -X github.com/hatchgrid/hatchgrid/core.Version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test vet fmt-check test-sqlite test-postgres test-race test-sdk sdk-deps ui ui-deps ui-check test-ui ui-test-deps test-faults bench bench-realtime cluster clean

all: build

build:
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hatchgrid

run:
	$(GO) run ./cmd/hatchgrid serve

# Everything: static checks, the committed dashboard against its source,
# the Go suite on SQLite and on PostgreSQL, the race detector where it
# matters, the SDK tests, the dashboard in a real browser and the fault
# tests.
test: vet fmt-check ui-check test-sqlite test-postgres test-race test-sdk test-ui test-faults

vet:
	$(GO) vet ./...
	$(GO) vet -tags faults ./tests/faults/

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test-sqlite:
	HG_TEST_DB=sqlite $(GO) test $(GOFLAGS_TEST) ./...

test-postgres:
	HG_TEST_DB=postgres HG_TEST_POSTGRES_URL='$(PG_URL)' $(GO) test $(GOFLAGS_TEST) ./...

test-race:
	HG_TEST_DB=sqlite $(GO) test $(GOFLAGS_TEST) -race $(RACE_PKGS)

sdk-deps:
	cd tests/sdk && npm ci --no-audit --no-fund

test-sdk: sdk-deps
	cd tests/sdk && HG_TEST_POSTGRES_URL='$(PG_URL)' npm test

# The dashboard: admin-ui/dist is committed so `go run` needs no Node;
# `make ui` rebuilds it, and ui-check fails when it differs from its source.
ui-deps:
	cd admin-ui && npm ci --no-audit --no-fund

ui: ui-deps
	cd admin-ui && npm run check && npm run build

ui-check: ui-deps
	cd admin-ui && npm run check
	@tmp=$$(mktemp -d) && (cd admin-ui && npx vite build --logLevel warn --outDir $$tmp --emptyOutDir) && \
	if ! diff -r $$tmp admin-ui/dist; then \
	  echo "admin-ui/dist differs from its source: run 'make ui' and commit admin-ui/dist"; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "admin-ui/dist matches its source"

ui-test-deps: sdk-deps
	cd tests/ui && npm ci --no-audit --no-fund

# Browser tests: playwright-core driving Debian's /usr/bin/chromium.
test-ui: ui-test-deps
	cd tests/ui && HG_TEST_POSTGRES_URL='$(PG_URL)' npm test

# Fault tests (tests/faults, build tag "faults") on the built binary:
# kill -9 during creates (SQLite and PostgreSQL), a private PostgreSQL
# and a private Redis stopped under load, slowloris and a 1 GiB upload.
# They print the counts they compare; a missing tool fails them in CI.
test-faults: build
	HG_FAULTS_BIN='$(CURDIR)/$(BIN)' HG_TEST_POSTGRES_URL='$(PG_URL)' \
	  $(GO) test -tags faults -count=1 -v -timeout 5m ./tests/faults/

# Load benchmarks against a real server on 127.0.0.1, both dialects; one
# JSON line per scenario, the list scenarios interleaved with their HTTP and
# database floors, realtime fan-out to 200 SSE clients (see bench/README.md).
BENCH_FLAGS ?= -duration 10s -records 20000
bench: build
	$(GO) run ./bench/cmd/hgbench -bin $(BIN) -dialect sqlite $(BENCH_FLAGS)
	$(GO) run ./bench/cmd/hgbench -bin $(BIN) -dialect postgres -pg-url '$(PG_URL)' $(BENCH_FLAGS)

# Realtime fan-out to 1,000 SSE clients on one instance, one event at a
# time (issue 6): delivery latency and the server's memory.
BENCH_RT_FLAGS ?= -rt-clients 1000 -rt-events 20 -rt-interval 500ms -records 100
bench-realtime: build
	$(GO) run ./bench/cmd/hgbench -bin $(BIN) -dialect sqlite -only realtime $(BENCH_RT_FLAGS)
	$(GO) run ./bench/cmd/hgbench -bin $(BIN) -dialect postgres -pg-url '$(PG_URL)' -only realtime $(BENCH_RT_FLAGS)

# A cluster to try: 3 instances on 127.0.0.1:8091-8093 sharing a fresh
# PostgreSQL schema, a Redis key prefix and an in-memory S3 bucket, until
# Ctrl-C (see docs/cluster.md). The SDK suite's cluster.test.mjs runs the
# same launcher.
CLUSTER_FLAGS ?= -n 3 -port 8091
cluster: build
	$(GO) run ./tests/cluster -bin $(BIN) -pg-url '$(PG_URL)' $(CLUSTER_FLAGS)

clean:
	rm -rf bin
