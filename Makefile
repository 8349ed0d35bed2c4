# Hushphone: the commands a developer and CI run. See README.md.
#
#   make run            run the server on its embedded defaults (HTTP and SIP on
#                       loopback, data in ./data), the console at http://127.0.0.1:8080/
#   make console        build the supervisor and admin console (frontend/, Vite)
#                       into frontend/dist, which the server embeds
#   make scrub-corpus   the masking engine over the corpus in testdata/, via scrub
#   make demo-pay       secure pay end to end against `make run`: a headless agent
#                       takes a payment that sipp types as the caller
#   make desktop        the desktop agent app, to build/bin/hushphone (build/desktop.sh)
#   make desktop-smoke  the app's smoke run under Xvfb: a call, a payment, a screenshot
#   make docs-screenshots  the same, saving the main views to docs/screenshots/
#   make console-smoke  the console in Debian's Chromium (playwright-core): a supervisor
#                       listens, whispers, watches a payment; an admin adds a user and a queue
#   make console-load   the console in Chromium with 500 callers waiting and 20 changes a
#                       second: long tasks, frames, the renderer's CPU (a measurement)
#   make test           install what the tests need, vet, lint, then every
#                       test (what CI runs, via .ci/run)
#   make deps           the Debian packages the tests use (build/install-deps.sh)
#   make build-deps     only what building needs: gcc, pkg-config, libopus-dev
#   make bench-ratio    the Masker against spandsp's detector, in one run
#   make lint           golangci-lint only (.golangci.yml)
#   make bench          Go benchmarks of the media hot path, with allocations
#   make fuzz           every Go fuzz target in turn, FUZZTIME each (default 10s)
#   make spandsp-bench  spandsp's dtmf_rx per 20 ms frame, for comparison

GO            ?= go
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
# The DTMF corpus: caller audio with known key presses, in the repository.
CORPUS        ?= testdata/dtmf-corpus
# -race multiplies the DSP tests' time by eight on two cores, and the media
# code is single-goroutine by design; the race detector runs where goroutines
# are: the server, payment and desktop packages.
RACE_PKGS      = $(shell $(GO) list ./server/... ./payment/... ./desktop/... 2>/dev/null)
TEST_TIMEOUT  ?= 20m
# How long `make fuzz` runs each fuzz target.
FUZZTIME      ?= 10s

.PHONY: all run console demo-pay desktop desktop-smoke docs-screenshots frontend-test scrub-corpus deps build-deps test vet lint go-test race-test fuzz bench bench-ratio spandsp-bench build load-call-path

all: test

# gcc, pkg-config, libopus-dev and libspandsp-dev first (cgo: internal/opus,
# server/proof): a no-op when there.
run: build-deps console
	$(GO) run ./server/cmd/hushphone-server serve

# The console's page and assets (frontend/console.html, src/console/),
# built into frontend/dist, which the server's binary embeds and serves at
# /: before running or testing the server. From the committed lock file.
console:
	@command -v npm >/dev/null || { echo "make console: npm is missing: install Node.js 20 or newer and npm (Debian: apt-get install nodejs npm; or build/install-deps.sh)" >&2; exit 1; }
	cd frontend && npm ci --no-audit --no-fund && npm run build

# The desktop app, built without the Wails CLI (npm ci, Vite, go build with
# Wails's tags for WebKitGTK 4.1).
desktop:
	build/desktop.sh

# The UI's unit tests (Vitest) and type check, from the committed lock file.
frontend-test:
	cd frontend && npm ci --no-audit --no-fund && npm run typecheck && npm test

# The app's smoke run, as CI does it: the real window under Xvfb signs in,
# answers a sipp call, takes a sandbox payment and saves a screenshot.
SMOKE_SHOT ?= build/bin/smoke.png
desktop-smoke:
	build/desktop-smoke.sh $(SMOKE_SHOT)

# The same run, saving the main views to docs/screenshots/ for the README.
docs-screenshots:
	build/desktop-smoke.sh build/bin/smoke.png docs/screenshots

# The console's smoke run in a real browser (build/console-smoke.sh): real
# server, agent, sipp caller and tshark; screenshots and one JSON line.
CONSOLE_SHOTS ?= build/bin/console
.PHONY: console-smoke
console-smoke:
	build/console-smoke.sh $(CONSOLE_SHOTS)

# Whether the console's page stays smooth with 500 calls waiting
# (build/console-load.sh): a measurement, not in make test; one JSON line.
.PHONY: console-load
console-load:
	build/console-load.sh

# Secure pay end to end against the server `make run` started: sipp (from
# `make deps`) types the sandbox's test card; build/demo-pay.sh says more.
demo-pay:
	build/demo-pay.sh

# The masking engine over the corpus in testdata/, as a contact centre would run
# it over its old recordings. Outputs land in data/scrubbed/ (what a
# listener hears) and data/digits/ (the key presses: test data here, card
# data in real life).
scrub-corpus: build-deps
	$(GO) run ./server/cmd/hushphone-server scrub --in $(CORPUS) --out data/scrubbed --digits data/digits --force

deps:
	build/install-deps.sh

build-deps:
	build/install-deps.sh --build

build: build-deps
	$(GO) build ./...

test: deps vet lint go-test race-test frontend-test desktop-smoke console-smoke

vet:
	$(GO) vet ./...
	$(GO) vet -tags smoke .

lint:
	$(GOLANGCI_LINT) run ./...

go-test: console
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

race-test:
	$(if $(strip $(RACE_PKGS)),$(GO) test -race -timeout $(TEST_TIMEOUT) $(RACE_PKGS),@echo "race-test: no packages")

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./media/...

# Every fuzz target (func FuzzX in a _test.go file), one after the other, for
# FUZZTIME each; a crasher lands in the package's testdata/fuzz/FuzzX/ and
# stops the run. The seed corpora also run in every plain `go test`.
fuzz:
	@set -e; for d in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v node_modules | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$d/*_test.go | cut -c6-); do \
			echo "fuzz: $$d $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$d; \
		done; \
	done

# BenchmarkMaskFrame and spandsp's dtmf_rx interleaved, medians and ratio.
bench-ratio:
	CORPUS=$(CORPUS) build/bench-masker.sh 7

# spandsp's dtmf_rx over the corpus's nominal case, 2000 passes, in ns per
# 20 ms frame: the baseline for BenchmarkMaskFrame (build/spandsp/README.md).
spandsp-bench:
	build/spandsp/build.sh
	build/spandsp/dtmfrx --bench $(CORPUS)/nominal.wav --iterations 2000

# The whole call path under load, by hand: N sipp calls, N headless agents,
# WebRTC and recording included (build/load-call-path.sh).
N ?= 20
load-call-path: build-deps
	build/load-call-path.sh $(N)
