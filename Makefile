# tokenportal: `make run` serves the portal, `make test` runs every test, `make bench` the benchmarks.
# Each target installs what it needs by itself (a .venv, the Python package, pouchdb-server).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := couchdb/node_modules/.installed

.PHONY: run test test-fast bench install browser clean

run: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py runportal

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/pip install --quiet -e '.[bench,postgres]'
	$(PY) -m bench $(BENCH_ARGS)

install: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,postgres]'
	touch $@

$(NODE_STAMP): couchdb/package.json couchdb/package-lock.json
	cd couchdb && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The end-to-end tests drive Debian's Chromium; install it when it is missing (needs root, as on CI).
browser:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

clean:
	rm -rf $(VENV) couchdb/node_modules
