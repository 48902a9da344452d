# gradlab — the two commands of the README:
#   make demo   installs missing system packages (apt-get, when root), builds in release mode, renders plots/
#   make test   the same set-up, then the test suite and the lesson check (what CI runs)
SWIFT   ?= swift
CONFIG  := -c release
BIN     := .build/release/gradlab
APT_PKGS := pkg-config libcairo2-dev libopenblas-dev liblapacke-dev zlib1g-dev fonts-dejavu-core

.PHONY: all deps build demo test test-determinism test-browser test-load browser-deps serve screenshot fuzz bench lessons gallery gallery-analysis gallery-training clean

all: demo

# Installs only the Debian packages in $(1) that are missing (apt-get, when root); not root: says what
# to install and stops. $(2) names what needs them.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "$(2) needs:$$missing — run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call apt_install,$(APT_PKGS),gradlab)

build: deps
	$(SWIFT) build $(CONFIG)

demo: build
	$(BIN) demo

test: build
	$(SWIFT) test $(CONFIG)
	$(BIN) notebook check
	$(MAKE) --no-print-directory test-determinism
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-load
	$(MAKE) --no-print-directory fuzz

# The live explorer (Ctrl-C stops it): http://127.0.0.1:8080/
serve: build
	$(BIN) serve

# The explorer in a real headless browser: Debian's chromium and chromium-driver (apt-get, when root) and
# Selenium from PyPI in a virtual environment of its own. Screenshots go to .build/browser/.
BROWSER_PKGS := chromium chromium-driver
VENV := .build/venv-browser
browser-deps:
	$(call apt_install,$(BROWSER_PKGS),the browser test)
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@$(VENV)/bin/python -c "import selenium" 2>/dev/null || $(VENV)/bin/pip install -q "selenium>=4.20"

test-browser: build browser-deps
	$(VENV)/bin/python Tests/browser/test_explorer.py $(BIN) .build/browser
	$(VENV)/bin/python Tests/browser/test_live.py $(BIN) .build/browser

# 200 keep-alive clients for 30 s on loopback, with hostile requests alongside (Python's standard library).
test-load: build
	python3 Tests/load/loadtest.py $(BIN) --clients 200 --seconds 30
	python3 Tests/load/cycles.py $(BIN)

# README's screenshot of the explorer, as the browser test took it.
screenshot: test-browser
	cp .build/browser/explorer.png docs/explorer.png

# Training and the lessons give the same bytes under other OpenBLAS kernels (OPENBLAS_CORETYPE=Prescott,
# Nehalem: any x86-64 CPU runs them) and with gradlab's generic kernel instead of AVX (about 2 min).
test-determinism: build
	sh Tests/determinism/check.sh $(BIN)

bench: build
	$(BIN) bench

lessons: build
	$(BIN) notebook run

# Every committed figure: the demo gallery, the analysis charts, the training charts and the lessons' figures.
gallery: demo gallery-analysis gallery-training lessons

# The phase diagram, the singular spectrum and Lyapunov-against-Newman charts of the README's gallery
# (about 3 minutes on 2 cores, most of it the 200,000-step Lyapunov run).
gallery-analysis: build
	$(BIN) sweep --cells tanh,relu,lstm --gain 0.5:2.0:0.05 --seeds 10 --out plots/sweep-phase.png
	$(BIN) spectrum --cells tanh --hidden 64 --steps 200 --lags 1,10,50,200 --out plots/spectrum-tanh.png
	$(BIN) lyapunov --iid --hidden 64 --steps 200000 --out plots/lyapunov-newman.png

# The training charts of the gallery (a few minutes on 2 cores; not part of `make demo`).
gallery-training: build
	$(BIN) train --cell lstm --task adding --steps 50 --hidden 64 --iters 2000 --clip-norm 1 \
	  --loss-chart plots/train-adding-lstm-loss.png --grad-chart plots/train-adding-lstm-grad-norm.png \
	  --contrib-chart plots/train-contributions.png
	$(BIN) train --cell tanh --task adding --steps 200 --hidden 64 --iters 2000 --clip-norm 1 \
	  --loss-chart plots/train-adding-tanh-T200-loss.png --grad-chart plots/train-adding-tanh-T200-grad-norm.png \
	  --contrib-chart plots/train-adding-tanh-T200-contributions.png
	$(BIN) train --cell lstm --task adding --steps 20 --hidden 32 --iters 1500 --optimizer sgd --lr 1 --clip-norm 1 \
	  --compare-clipping --clipping-chart plots/train-clipping.png
	$(BIN) train --cell lstm --task adding --steps 50 --hidden 64 --iters 2000 --clip-norm 1 --truncate 10 \
	  --loss-chart plots/train-truncation-loss.png --contrib-chart plots/train-truncation-contributions.png
	$(BIN) train-sweep --cells tanh,irnn,lstm --lengths 10,25,50,100,200 --chart plots/train-lengths.png

clean:
	rm -rf .build

# Fuzzes the .npz/.npy and gradlab.model/1 readers (Fuzz/, libFuzzer) for FUZZ_SECONDS, starting from the
# corpus in Fuzz/corpus; new inputs and any crash go to .build-fuzz/. Own scratch path: the sanitizer build
# (about 4 minutes the first time) never mixes with the release build.
FUZZ_SECONDS ?= 30
fuzz: deps
	$(SWIFT) build $(CONFIG) --package-path Fuzz --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld --product FuzzInputs
	mkdir -p .build-fuzz/corpus .build-fuzz/artifacts
	SWIFT_BACKTRACE=enable=no .build-fuzz/release/FuzzInputs -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 \
	  -artifact_prefix=.build-fuzz/artifacts/ .build-fuzz/corpus Fuzz/corpus
