# courierd — the two commands are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/courierd
# A step that says how long it took ("make run: built courierd in 1.2 s"); see the script.
TIMED = STEP="make $(or $(firstword $(MAKECMDGOALS)),$@)" scripts/timed.sh
# Finds or provisions PostgreSQL and exports DATABASE_URL and TEST_DATABASE_URL.
WITH_DB = env_out=$$($(TIMED) "PostgreSQL ready" scripts/pg.sh env) && eval "$$env_out"
# Without AUTH_KEY_DIR, make run keeps a development signing key in .keys/ so that tokens
# survive restarts; production brings its own keys.
DEV_KEYS = if [ -z "$${AUTH_KEY_DIR:-}" ]; then export AUTH_KEY_DIR=.keys; \
	if ! ls .keys/*.pem >/dev/null 2>&1; then ./$(BIN) keygen .keys dev >/dev/null && \
	echo "make run: generated a development signing key, .keys/dev.pem (set AUTH_KEY_DIR for your own keys)"; fi; fi

.PHONY: run test lint build web image unit fuzz-short fuzz bench bench-routing fmt db-stop clean help

help:
	@echo "make run     build, provision PostgreSQL if needed, migrate, seed demo data, serve on :8080 (PORT)"
	@echo "make test    lint, then every test against a real PostgreSQL"
	@echo "make lint    gofmt, go vet, staticcheck, generated clients (device, Go, TypeScript) up to date"
	@echo "make web     build the console and the applicants' page (npm ci from the lock file, then bundle)"
	@echo "make image   the OCI image, without Docker: bin/courierd-image.tar (docker/podman load) and bin/courierd-oci"
	@echo "make fuzz    every fuzz target for FUZZTIME each (default 2m), then STATEFUL_CHECKS random API sequences (default 500)"
	@echo "make bench   the Go benchmarks, with allocations"
	@echo "make bench-routing  the route solver on a subset of the public benchmarks (ROUTING_DATA, TIME)"
	@echo "make db-stop stop the private PostgreSQL cluster, if one was made"

# The pages are embedded in the binary: they are built first, and again only when their
# sources or the lock file change.
WEB_BUILT := api/web/dist/console.html
$(WEB_BUILT): $(wildcard api/web/src/*) api/web/build.mjs api/web/package.json api/web/package-lock.json
	@$(TIMED) "built the pages" scripts/web.sh

web: $(WEB_BUILT)

# The version `courierd version` prints, and the image's.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
build: web
	@$(TIMED) "built courierd $(VERSION)" $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/courierd

# The image holds a static binary; its version is the checkout's description and its time
# the last commit's, so that the same commit gives the same image.
IMAGE_CREATED ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_SOURCE  ?= $(shell git config --get remote.origin.url)
IMAGE_LICENSES ?= MIT
image: web
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "-s -X main.version=$(VERSION)" -o bin/courierd-static ./cmd/courierd
	$(GO) run ./cmd/mkimage -binary bin/courierd-static -version $(VERSION) -created $(IMAGE_CREATED) \
		-source '$(IMAGE_SOURCE)' -licenses $(IMAGE_LICENSES)

# The seed's note on the demo accounts (their password, when it made one) goes to the
# server through a pipe, which prints it last, under the addresses, once it listens: the
# seeded history tells nobody, so nothing scrolls it away.
run: build
	@# The demo's collection account is invented: its VietQR codes scan, but pay nobody.
	@$(WITH_DB) && $(DEV_KEYS) && export OTP_SENDER=$${OTP_SENDER:-log} && \
		export VIETQR_BANK_BIN=$${VIETQR_BANK_BIN:-970415} VIETQR_ACCOUNT=$${VIETQR_ACCOUNT:-0000000000} && \
		$(TIMED) - ./$(BIN) migrate up && note=$$($(TIMED) - ./$(BIN) seed --brief) && \
		exec ./$(BIN) serve --banner <(printf '%s\n' "$$note")

test: lint unit fuzz-short

# The browser tests drive Debian's Chromium, and the pooler test Debian's PgBouncer, both
# installed here when missing and we may.
# The api package's end-to-end tests take about ten minutes under the race detector on two
# cores while the other packages run beside them: more than go test's default limit.
unit: web
	@$(WITH_DB) && export CHROMIUM_PATH=$${CHROMIUM_PATH:-$$(scripts/chromium.sh)} && \
		export PGBOUNCER_PATH=$${PGBOUNCER_PATH:-$$(scripts/pgbouncer.sh)} && \
		$(GO) test -race -count=1 -timeout 30m ./...

# Every decoder of outside bytes is fuzzed: briefly on every test run, longer on demand.
FUZZTIME ?= 2m
STATEFUL_CHECKS ?= 500
fuzz-short: web
	@$(WITH_DB) && scripts/fuzz.sh 10s

fuzz: web
	@$(WITH_DB) && scripts/fuzz.sh $(FUZZTIME) $(STATEFUL_CHECKS)

# Micro-benchmarks, then the device simulator against courierd at a few sizes and the
# database's own floor, then the national day (3,300 handhelds at 1× and 10×, then the largest
# factor that holds), into docs/BENCHMARKS.md (BENCH_FLAGS=-profiles DIR keeps profiles).
BENCH_FLAGS ?= -sizes 50,500,2000 -duration 30s
bench: build
	@$(WITH_DB) && micro=$$(mktemp) && trap 'rm -f $$micro' EXIT && \
		$(GO) test -run '^$$' -bench . -benchmem ./... | tee $$micro && \
		$(GO) run ./cmd/benchrun -courierd $(BIN) -micro $$micro $(BENCH_FLAGS)

# The public routing benchmarks live beside the checkout, never in it.
ROUTING_DATA ?= ../shared/data/routing
TIME ?= 2s
bench-routing:
	@if [ ! -d "$(ROUTING_DATA)/solomon" ]; then echo "bench-routing: no benchmark sets in $(ROUTING_DATA) (set ROUTING_DATA)"; exit 1; fi
	$(GO) build -o bin/vrpbench ./cmd/vrpbench
	GOMAXPROCS=1 bin/vrpbench -time $(TIME) -bks $(ROUTING_DATA)/solomon/bks_distance.csv \
		$(addprefix $(ROUTING_DATA)/solomon/,C101.txt C201.txt R101.txt R201.txt RC101.txt RC201.txt R205.txt RC205.txt)
	GOMAXPROCS=1 bin/vrpbench -time $(TIME) -vehicle-cost 10000 -bks $(ROUTING_DATA)/lilim/bks_hierarchical.csv \
		$(addprefix $(ROUTING_DATA)/lilim/,lc101.txt lr101.txt lrc101.txt lc201.txt lr201.txt lrc201.txt)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@# The generated clients must be what their documents generate today.
	@GO=$(GO) scripts/clients.sh check

fmt:
	gofmt -w .

db-stop:
	scripts/pg.sh stop

clean:
	rm -rf bin
