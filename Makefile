# tokenportal: `make run` serves the portal, `make test` runs every test, `make bench` the benchmarks.
# Each target installs what it needs by itself (a .venv, the Python package, pouchdb-server).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := couchdb/node_modules/.installed

# `make run PORT=8010 COUCHDB_PORT=5990` serves on other ports (the bundled CouchDB is started on
# COUCHDB_PORT, and runportal keeps that address in var/couchdb_url for every other command of the
# folder; without it COUCHDB_URL from the environment or .env decides, else var/couchdb_url, else 5984).
PORT ?= 8000
COUCHDB_PORT ?=

.PHONY: run test test-fast test-unit bench loadtest install browser clean

run: install .env
	$(if $(COUCHDB_PORT),COUCHDB_URL=http://127.0.0.1:$(COUCHDB_PORT) )$(PY) manage.py runportal 127.0.0.1:$(PORT)

# The development settings, read by every manage.py command (a second shell's too): DEBUG on, all
# else commented out. Never overwritten; production has no .env (or its own).
.env:
	cp .env.example $@
	@echo "Wrote $@ (DEBUG=true) from .env.example: development settings for every manage.py command."

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

# The unit tier: parsers, design rules, forms, durations; no CouchDB, no database, seconds.
test-unit: install
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

# `make bench COUCHDB=apache` (and `make loadtest COUCHDB=apache`) run on Apache CouchDB 3.5 from
# ../shared/couchdb/ instead of pouchdb-server.
COUCHDB ?=

bench: install
	$(if $(COUCHDB),COUCHDB_ENGINE=$(COUCHDB) )$(PY) -m bench $(BENCH_ARGS)

# The production shape (gunicorn, PostgreSQL from DATABASE_URL, task workers, pouchdb-server) under
# readers, operators and pilots, e.g. make loadtest LOADTEST_ARGS="--duration 180 --fault couch-restart".
loadtest: install
	$(if $(COUCHDB),COUCHDB_ENGINE=$(COUCHDB) )$(PY) -m bench.loadtest $(LOADTEST_ARGS)

install: $(STAMP) $(NODE_STAMP)

# The bench extra too: every test run makes a quick pass of each benchmark (tests/bench), which
# needs zope.locking and ZODB (the locks baseline) and psutil; all of it installs from small wheels.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,postgres,bench]'
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
