# Rampart's build, demo and tests. Every target installs what it needs.
GO            ?= go
GOLANGCI_VER  := v2.15.0
BIN           := bin/rampart
LDFLAGS       := -s -w -X github.com/rampart-dev/rampart/internal/cli.version=$(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
TOOLS         := $(CURDIR)/.cache/tools

.PHONY: all build demo test test-go lint fuzz bench clean deps

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rampart

# The main job on an embedded default: TLS endpoints served on loopback with
# good and bad certificates, server fixture roots and the local machine,
# scanned for real; then readiness and the TODO list.
demo: build
	$(BIN) demo --dir demo-out

# System packages the tests use (git for the git-repo integration).
deps:
	scripts/deps.sh

# Every test: lint (with vet), unit and integration tests, CLI scripts, the
# crash test, and each fuzz target's seed corpus.
test: deps lint test-go

# go vet runs inside golangci-lint (the standard set includes govet).
test-go:
	RAMPART_TEST_POSTGRES=$${RAMPART_TEST_POSTGRES:-start} CGO_ENABLED=0 $(GO) test -count=1 -timeout 25m ./...

$(TOOLS)/golangci-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VER)

lint: $(TOOLS)/golangci-lint
	$(TOOLS)/golangci-lint run ./...

# Run each fuzz target for a short while (FUZZTIME=1m for longer).
FUZZTIME ?= 20s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

bench: build
	bench/run.sh

clean:
	rm -rf bin demo-out .cache
