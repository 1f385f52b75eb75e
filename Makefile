# Two commands do all the set-up: `make demo` and `make test`. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

.PHONY: demo demo-room test screenshots mutation lint format bench install install-dev browser proxy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Chromium from Debian's packages where /usr/bin/chromium is missing and apt exists.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	  else \
	    echo "No /usr/bin/chromium and no apt: falling back to Playwright's own Chromium"; \
	    $(BIN)/python -m playwright install chromium; \
	  fi; \
	fi

## nginx (the room's TLS proxy) and certutil (to trust its CA in the browser tests) from Debian's
## packages where missing and apt exists. Without them `make demo-room` stops and says so and the
## room's browser tests skip.
proxy:
	@if ! { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 || \
	    ! command -v certutil >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nginx libnss3-tools; \
	  else \
	    echo "No nginx and no apt: install nginx for make demo-room (its tests will skip)"; \
	  fi; \
	fi

## Serve the app with gunicorn on http://127.0.0.1:$(PORT), demo mode unless DEMO_MODE=0.
demo: $(VENV)/.installed
	@mkdir -p var
	DEMO_MODE=$${DEMO_MODE:-1} $(BIN)/python manage.py migrate --noinput -v0
	@if [ "$${DEMO_MODE:-1}" != "0" ]; then DEMO_MODE=$${DEMO_MODE:-1} $(BIN)/python manage.py seed_demo; fi
	DEMO_MODE=$${DEMO_MODE:-1} $(BIN)/python manage.py collectstatic --noinput -v0
	@$(BIN)/python deploy/room.py where
	DEMO_MODE=$${DEMO_MODE:-1} exec $(BIN)/gunicorn -c project/gunicorn.conf.py

## Serve a room over HTTPS: nginx with a local CA on 0.0.0.0:$${ROOM_PORT:-8443} in front of
## gunicorn on 127.0.0.1:$(PORT), TRUSTED_PROXY_COUNT=1, DEMO_SANDBOXES=1. See README.md.
demo-room: $(VENV)/.installed proxy
	@mkdir -p var
	exec $(BIN)/python deploy/room.py

## The whole suite: unit, integration, security and browser tests. Django's own session
## backend tests come from the installed Django's sdist, fetched once into var/django-sdist/.
test: $(VENV)/.installed-dev browser proxy
	@mkdir -p var
	$(BIN)/python -m tests.integration.django_sdist
	$(BIN)/python -m pytest

## The README's screenshots (docs/screenshots/), from the browser tests that take them; `make test`
## writes its screenshots under var/ and leaves the work tree clean.
screenshots: $(VENV)/.installed-dev browser
	@mkdir -p var
	README_SCREENSHOTS=1 $(BIN)/python -m pytest e2e/test_sessions_page.py e2e/test_browser_timeout.py e2e/test_lab.py

## Mutation testing of sessions_admin/policy.py against the unit tests (mutmut; ~10 min on 2
## cores): `mutmut results` then lists the survivors, `mutmut show <name>` one of them.
mutation: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet ".[dev,mutation]"
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results | grep -c survived || true

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet ".[dev,bench]"
	touch $(VENV)/.installed $(VENV)/.installed-dev $@

## Benchmarks (not tests): wrk from Debian's packages where missing and apt exists (else a
## bounded Python load generator is used), then bench/results/latest.{json,md}.
bench: $(VENV)/.installed-bench
	@if ! command -v wrk >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; } || \
	  echo "wrk not installed: the Python load generator will be used"; \
	fi
	@mkdir -p var
	$(BIN)/python -m bench
	$(BIN)/python -m bench.sentinel

clean:
	rm -rf var/e2e-* var/*.sock .pytest_cache
