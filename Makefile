# dlcompat — see README.md. Every target installs or builds what it needs.
SHELL := /bin/bash
GO ?= go
BIN := bin
PLUGINS := $(BIN)/plugins
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/dlcompat/dlcompat/core/cli.Version=$(VERSION)
# Every plugins/<name>/main.go is a plugin binary. Plugins are static (no
# cgo) so they run in any container, FROM scratch included; the host needs
# cgo for go-nvml.
GO_PLUGINS := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))

.PHONY: build run setup test fuzz bench bench-docker bench-timing bench-reports diff-demo reference proto proto-check clean

build:
	@mkdir -p $(PLUGINS)
	CGO_ENABLED=1 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/dlcompat ./cmd/dlcompat
	@for p in $(GO_PLUGINS); do \
		echo "CGO_ENABLED=0 $(GO) build -o $(PLUGINS)/dlcompat-plugin-$$p ./plugins/$$p"; \
		CGO_ENABLED=0 $(GO) build -trimpath -o $(PLUGINS)/dlcompat-plugin-$$p ./plugins/$$p || exit 1; \
	done

# The main job: every framework in its container on every device, after
# starting the Docker engine and building the images it needs (as root;
# otherwise what the local executor can run, with a line saying why). It
# replaces the previous results/ (--force); keep one by copying it, or run
# bin/dlcompat with another -o. See scripts/run-matrix.sh.
run: build
	./scripts/run-matrix.sh results

# Installs or starts what the tests need (Docker engine, images, Python
# environments), idempotently: scripts/setup.d/*.sh in order.
setup:
	./scripts/setup.sh

# setup started the Docker engine and built the images, so a test that
# needs them fails here rather than skipping (DLCOMPAT_REQUIRE=1, see core/testenv); the
# same for the frameworks, Chromium and junitparser.
test: build setup proto-check
	$(GO) vet ./...
	DLCOMPAT_REQUIRE=1 $(GO) test -count=1 -timeout 30m ./...
	FUZZTIME=$(FUZZTIME_SHORT) ./scripts/fuzz.sh

# Every fuzz target (found by scripts/fuzz.sh: each func FuzzXxx in a
# _test.go), one after another, FUZZTIME each; `make test` runs them for
# FUZZTIME_SHORT. A failing input lands in the package's testdata/fuzz/.
FUZZTIME ?= 10m
FUZZTIME_SHORT ?= 5s
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

bench: build
	./scripts/bench.sh

# merge / diff / HTML at fleet size, and the harness overhead of a real run.
bench-reports: build
	./scripts/bench-reports.sh

# diff of real runs: the same configuration twice, and one made slower.
diff-demo: build
	./scripts/diff-demo.sh

# Container start → plugin ready, beside the local subprocess (needs setup).
bench-docker: build
	./scripts/bench-docker.sh

# Our perf timer beside torch.utils.benchmark's, in the pytorch image (needs setup).
bench-timing:
	./scripts/bench-timing.sh

reference: build
	./$(BIN)/dlcompat gen-reference -o testdata/reference

proto:
	./scripts/gen-proto.sh

# The committed generated code must be what the script generates.
proto-check:
	./scripts/gen-proto.sh
	git diff --exit-code -- core/pluginapi/proto

clean:
	rm -rf $(BIN) results
