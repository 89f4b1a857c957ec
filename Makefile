# The two set-up commands: `make demo` and `make test`.
GO        ?= go
BIN       := bin/agent
DEMO_ADDR ?= 127.0.0.1:8089
DEMO_DIR  := .demo

.PHONY: all build demo test test-renditions test-short vet fmt smoke bench chrome clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/agent

# chrome makes sure a browser is there: Debian's chromium, installed when
# running as root, or the exact command to run otherwise.
chrome:
	@bash scripts/ensure-chrome.sh

# demo runs `agent list` against the embedded fixture server: it starts the
# server, signs in through its login page and lists the members.
demo: build chrome
	@bash scripts/demo.sh $(BIN) $(DEMO_ADDR) $(DEMO_DIR)

# test is the command CI runs: vet, then every test with the race detector
# against real headless Chromium.
test: chrome
	$(GO) vet ./...
	CI=$${CI:-true} $(GO) test -race -count=1 -timeout 45m ./...

# test-renditions runs every flow over the covering set of generated
# renditions and 300 seeds of the day (docs/locators.md, "The rendition
# space").
test-renditions: chrome
	CI=$${CI:-true} GEN_SEEDS=300 $(GO) test -race -count=1 -timeout 180m -run 'TestGeneratedRenditions' -v ./flows

smoke: build chrome
	$(BIN) smoke

bench: build chrome
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x -timeout 60m ./bench/...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin $(DEMO_DIR) artifacts
