# The one command surface of AVD: run, test, bench, lint, build.
# Every target creates or reuses the local virtualenv and the release build
# of the Rust extension; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
CARGO  ?= cargo
export PYO3_PYTHON := $(abspath $(PY))

RUST_SRC := $(shell find core/src core/benches -name '*.rs' 2>/dev/null) core/Cargo.toml $(wildcard core/Cargo.lock)
BUILT    := $(VENV)/.avd-built

.PHONY: run test bench lint build dev clean rust-test py-test postgres redis browser screenshots

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Release build of avd._core, installed (editable) with the dev extras.
# Rebuilt only when a Rust source, Cargo.toml or pyproject.toml changed.
$(BUILT): $(RUST_SRC) pyproject.toml | $(PY)
	$(PY) -m pip install -q "maturin>=1.7,<2"
	$(BIN)/maturin develop --release --extras dev -q
	touch $@

dev: $(BUILT)

run: $(BUILT)
	$(BIN)/avd run

rust-test:
	cd core && $(CARGO) fmt --check
	cd core && $(CARGO) test -q
	cd core && $(CARGO) clippy -q --all-targets -- -D warnings
	cd core && $(CARGO) clippy -q --all-targets --features python -- -D warnings

lint: $(BUILT)
	$(BIN)/ruff check avd tests benchmarks
	$(BIN)/ruff format --check avd tests benchmarks
	$(BIN)/mypy
	$(PY) -m mypy.stubtest avd._core
	$(BIN)/lint-imports

# The client tests start a private PostgreSQL server: install Debian's package if missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The bus tests start private redis-servers (Redis Streams): install Debian's package if missing.
redis:
	@command -v redis-server >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The dashboards' smoke tests drive a real browser: Debian's chromium and chromium-driver.
browser:
	@command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

py-test: $(BUILT) postgres redis browser
	$(BIN)/pytest -q

test: $(BUILT) rust-test lint py-test

# The README's pictures of the dashboards (docs/img/*.png), taken in chromium.
screenshots: $(BUILT) browser
	$(PY) -m tests.ui.screenshots docs/img

bench: $(BUILT) redis
	cd core && $(CARGO) bench --bench pipeline -- --noplot
	cd core && $(CARGO) bench --bench stops -- --noplot
	cd core && $(CARGO) bench --bench orderbook -- --noplot
	$(BIN)/pytest -q benchmarks --benchmark-enable --benchmark-columns=min,median,mean,ops --benchmark-sort=name -s

build: $(BUILT)
	rm -rf dist
	$(BIN)/maturin build --release --out dist -q
	$(BIN)/maturin sdist --out dist -q

clean:
	rm -rf $(VENV) core/target dist avd/*.so
