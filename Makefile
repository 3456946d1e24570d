# Hatchgrid's build and test entry points. `make test` is what CI runs.

GO            ?= go
GOFLAGS_TEST  ?= -count=1 -p 2 -timeout 10m
# Packages whose concurrency is worth the race detector's cost.
RACE_PKGS     := ./core/hook/... ./core/ ./apis/...
PG_URL        ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
BIN           := bin/hatchgrid
LDFLAGS       := -s -w -X github.com/hatchgrid/hatchgrid/core.Version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test vet fmt-check test-sqlite test-postgres test-race test-sdk sdk-deps bench clean

all: build

build:
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hatchgrid

run:
	$(GO) run ./cmd/hatchgrid serve

# Everything: static checks, the Go suite on SQLite and on PostgreSQL, the
# race detector where it matters, and the SDK tests.
test: vet fmt-check test-sqlite test-postgres test-race test-sdk

vet:
	$(GO) vet ./...

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

# Load benchmarks against a real server on 127.0.0.1, both dialects; one
# JSON line per scenario (see bench/README.md).
BENCH_FLAGS ?= -duration 10s -records 20000
bench: build
	$(GO) run ./bench/cmd/hgbench -bin $(BIN) -dialect sqlite $(BENCH_FLAGS)
	$(GO) run ./bench/cmd/hgbench -bin $(BIN) -dialect postgres -pg-url '$(PG_URL)' $(BENCH_FLAGS)

clean:
	rm -rf bin
