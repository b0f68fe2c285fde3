# Invite & Forward — build, test and run locally.
#
#   make dev     start the local stack (DynamoDB Local, SES emulator, gateway) and print URLs
#                (DEV_PERSIST=1 make dev keeps the table across restarts; make dev-reset clears it)
#   make test    install what is needed and run every test against the local AWS APIs,
#                then the browser test
#   make e2e     the browser test alone: the desk and customer pages in Chromium
#   make build   build every function to .build/<function>/bootstrap (linux/arm64)
#   make lint    gofmt, go vet, staticcheck
#   make bench   measure every function against baselines (size, cold start, RSS, round trips)
#
# `sam build` calls build-<LogicalId> for each function (BuildMethod: makefile); the pattern
# rule below derives the folder from the logical id, so adding a function is a folder under
# functions/ and a template resource — no Makefile change.

SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := .build
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: all build test e2e dev dev-reset lint bench bench-go clean deps check-tools fuzz-seeds
all: build

# --- tools and local packages ------------------------------------------------------------

check-tools:
	@command -v node >/dev/null || { echo "Node.js (18+) is required: it runs the SES emulator and installs DynamoDB Local." >&2; exit 1; }
	@command -v java >/dev/null || { echo "Java 17+ is required to run DynamoDB Local (e.g. apt-get install openjdk-17-jre-headless)." >&2; exit 1; }
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	  [ "$${v:-0}" -ge 17 ] || { echo "Java 17+ is required to run DynamoDB Local (found $${v:-none})." >&2; exit 1; }

# npm ci runs only when the lock file is newer than the installed tree.
local/node_modules/.package-lock.json: local/package-lock.json local/package.json
	@echo "==> Installing the local emulators with npm ci (DynamoDB Local, aws-ses-v2-local; about 60 MB, once)"
	cd local && npm ci --no-audit --no-fund
	@touch $@

deps: check-tools local/node_modules/.package-lock.json

# --- build -------------------------------------------------------------------------------

build: $(addprefix build-fn-,$(FUNCTIONS))

build-fn-%:
	@mkdir -p $(BUILD_DIR)/$*
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/$*/bootstrap ./functions/$*

# SAM: `make build-StartConversationFunction ARTIFACTS_DIR=…` builds functions/start-conversation.
build-%Function:
	$(eval FN_DIR := $(shell echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g; s/([A-Z]+)([A-Z][a-z])/\1-\2/g' | tr 'A-Z' 'a-z'))
	@test -d functions/$(FN_DIR) || { echo "no folder functions/$(FN_DIR) for $*Function" >&2; exit 1; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(FN_DIR)

# --- test --------------------------------------------------------------------------------

# The emulators start once for the whole run; every test package reuses them (each test gets
# its own table), and the runner stops them when the tests end, pass or fail.
# The Go benchmarks run once each (-benchtime=1x) so that they keep working; their timings
# mean nothing under -race.
test: deps lint
	@echo "==> Running every test with -race against DynamoDB Local and the SES emulator"
	@echo "    (a first run compiles the test binaries for a few minutes before the first result)"
	$(GO) run ./local/cmd/emulators -dynamodb-port 0 -ses-port 0 -- \
	  $(GO) test -race -count=1 -timeout 15m -bench . -benchtime=1x ./...
	GO=$(GO) local/e2e/run.sh

# The browser test (local/e2e): Debian's Chromium, installed with apt-get when missing, drives
# the demo desk and customer pages against a local stack of its own on free ports.
# Screenshots of every step land in local/e2e/screenshots/.
e2e: deps
	GO=$(GO) local/e2e/run.sh

# Sizes, cold starts, peak RSS, round trips and latency of every function and action, against
# baselines built in the same run: one table, also written to .build/bench.md.
bench: deps
	$(GO) run ./local/cmd/emulators -dynamodb-port 0 -ses-port 0 -- \
	  $(GO) run ./local/cmd/bench -out $(BUILD_DIR)/bench.md
	@echo "==> Load through the local gateway: 1,000 PIN redemptions from 125 addresses, 500 starts, 100 posters"
	LOAD=full $(GO) run ./local/cmd/emulators -dynamodb-port 0 -ses-port 0 -- \
	  $(GO) test -count=1 -run TestLoad -v ./local/gateway | grep -E 'load_test|^(ok|FAIL|---)'

# The Go benchmarks of the hot paths, for real (make test only runs them once).
bench-go: deps
	$(GO) run ./local/cmd/emulators -dynamodb-port 0 -ses-port 0 -- \
	  $(GO) test -run '^$$' -bench . -benchmem ./...

# Go tools are `tool` directives in go.mod (pinned like any dependency, built into the
# module's cache on first use): nothing is looked up in the Go bin directory or PATH.
lint: deps
	@echo "==> gofmt, go vet, staticcheck (a first run downloads the Go modules and builds staticcheck)"
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './local/node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@echo "==> Redocly lint of openapi.yaml"
	cd local && node_modules/.bin/redocly lint ../openapi.yaml --config redocly.yaml --format stylish

# --- run ---------------------------------------------------------------------------------

# Built, then exec'd: the dev program gets Ctrl-C itself and stops the emulators cleanly.
dev: deps
	@echo "==> Building the local stack: gateway, every handler, emulator control (Go's build cache makes later runs quick)"
	@GO=$(GO) local/scripts/go-build-progress $(BUILD_DIR)/dev ./local/cmd/dev
	@exec $(BUILD_DIR)/dev

# Starts from the seed again: deletes the DynamoDB data that DEV_PERSIST=1 keeps, then runs
# make dev with it.
dev-reset:
	rm -rf local/.dev/dynamodb
	DEV_PERSIST=1 $(MAKE) dev

clean:
	rm -rf $(BUILD_DIR) .aws-sam
