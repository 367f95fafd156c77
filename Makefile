# dlcompat — see README.md. Every target installs or builds what it needs.
SHELL := /bin/bash
GO ?= go
BIN := bin
PLUGINS := $(BIN)/plugins
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/dlcompat/dlcompat/core/cli.Version=$(VERSION)
# Plugins are static (no cgo) so they run in FROM-scratch containers; the
# host needs cgo for go-nvml.
GO_PLUGINS := gorgonia

.PHONY: build run test bench reference proto clean

build:
	@mkdir -p $(PLUGINS)
	CGO_ENABLED=1 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/dlcompat ./cmd/dlcompat
	@for p in $(GO_PLUGINS); do \
		echo "CGO_ENABLED=0 $(GO) build -o $(PLUGINS)/dlcompat-plugin-$$p ./plugins/$$p"; \
		CGO_ENABLED=0 $(GO) build -trimpath -o $(PLUGINS)/dlcompat-plugin-$$p ./plugins/$$p || exit 1; \
	done

# The main job on the embedded default: every plugin found, on every device.
run: build
	./$(BIN)/dlcompat run -o results

test: build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

bench: build
	./scripts/bench.sh

reference: build
	./$(BIN)/dlcompat gen-reference -o testdata/reference

proto:
	./scripts/gen-proto.sh

clean:
	rm -rf $(BIN) results
