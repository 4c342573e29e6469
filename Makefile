# Dev Exchange — the two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

# Local run: embedded SQLite, demo sign-in, scheduled jobs inside the web process.
# The site's own address follows PORT: the (simulated) payment pages send the browser back to it.
LOCAL_ENV := DEVEX_ENV=local DEVEX_DEMO_SIGN_IN=true DEVEX_RUN_JOBS_IN_PROCESS=true \
	DEVEX_BASE_URL=$${DEVEX_BASE_URL:-http://127.0.0.1:$(PORT)}

.PHONY: run test lint typecheck browser pytest bench messages lock clean

# Exactly the locked versions, their hashes checked; the project itself brings no other.
$(STAMP): requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(LOCAL_ENV) $(BIN)/devex db upgrade
	$(LOCAL_ENV) $(BIN)/devex demo-data
	$(LOCAL_ENV) $(BIN)/devex serve --host 127.0.0.1 --port $(PORT)

# lint-imports: who may import whom (.importlinter; the README's "Domains call one another").
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "Chromium is missing: install Debian's chromium package (apt-get install chromium)" >&2; \
	    exit 1; \
	  fi; }

pytest: $(STAMP) browser
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench.listing

# Re-extract UI strings and merge them into the English and French catalogues.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o app/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l fr --no-fuzzy-matching --ignore-obsolete

# Re-resolve requirements/ after a change to pyproject.toml; pins that still fit are kept
# (LOCK_ARGS=--upgrade moves them all). dev.txt is for make, runtime.txt for the image: the same
# versions, for Python 3.11 like the image.
LOCK := $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock" $(LOCK_ARGS)
lock: $(STAMP)
	$(LOCK) --extra dev -o requirements/dev.txt
	$(LOCK) -c requirements/dev.txt -o requirements/runtime.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
