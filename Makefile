# Hushphone: the commands a developer and CI run. See README.md.
#
#   make run            run the server (for now: list what the binary offers)
#   make test           vet, lint, then every test (what CI runs, via .ci/run)
#   make lint           golangci-lint only (.golangci.yml)
#   make bench          Go benchmarks of the media hot path, with allocations
#   make spandsp-bench  spandsp's dtmf_rx per 20 ms frame, for comparison

GO            ?= go
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
# The shared test data (the DTMF corpus) lives beside the repository.
SHARED        ?= ../shared
# -race multiplies the DSP tests' time by eight on two cores, and the media
# code is single-goroutine by design; the race detector runs where goroutines
# are: the server, payment and desktop packages.
RACE_PKGS      = $(shell $(GO) list ./server/... ./payment/... ./desktop/... 2>/dev/null)
TEST_TIMEOUT  ?= 20m

.PHONY: all run test vet lint go-test race-test bench spandsp-bench build

all: test

# The live server is `hushphone-server serve`; until it exists, show what
# the binary offers.
run:
	$(GO) run ./server/cmd/hushphone-server help

build:
	$(GO) build ./...

test: vet lint go-test race-test

vet:
	$(GO) vet ./...

lint:
	$(GOLANGCI_LINT) run ./...

go-test:
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

race-test:
	$(if $(strip $(RACE_PKGS)),$(GO) test -race -timeout $(TEST_TIMEOUT) $(RACE_PKGS),@echo "race-test: no packages")

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./media/...

# spandsp's dtmf_rx over the corpus's nominal case, 2000 passes, in ns per
# 20 ms frame: the baseline for BenchmarkMaskFrame (build/spandsp/README.md).
spandsp-bench:
	build/spandsp/build.sh
	build/spandsp/dtmfrx --bench $(SHARED)/dtmf-corpus/nominal.wav --iterations 2000
