# gradlab — the two commands of the README:
#   make demo   installs missing system packages (apt-get, when root), builds in release mode, renders plots/
#   make test   the same set-up, then the test suite and the lesson check (what CI runs)
SWIFT   ?= swift
CONFIG  := -c release
BIN     := .build/release/gradlab
APT_PKGS := pkg-config libcairo2-dev libopenblas-dev liblapacke-dev zlib1g-dev fonts-dejavu-core

.PHONY: all deps build demo test bench lessons clean

all: demo

# Installs only what is missing. Not root: says what to install and stops.
deps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "gradlab needs:$$missing — run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build $(CONFIG)

demo: build
	$(BIN) demo

test: build
	$(SWIFT) test $(CONFIG)
	$(BIN) notebook check

bench: build
	$(BIN) bench

lessons: build
	@for f in notebooks-md/*.md; do $(BIN) notebook run $$f || exit 1; done

clean:
	rm -rf .build
