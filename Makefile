# One entry point for users and CI: `make test`, `make demo`, `make bench`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_DIR := tests/.node

.PHONY: venv test lint dist-check unit demo demo-short demo-html bench clean build-DjangoFunction build-FlaskFunction

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip uninstall --quiet --yes serverless-cache 2>/dev/null || true  # the old name
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

$(NODE_DIR)/node_modules/.bin/dynalite:
	npm install --silent --no-audit --no-fund --prefix $(NODE_DIR) dynalite@4

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: $(STAMP) $(NODE_DIR)/node_modules/.bin/dynalite
	$(PY) -m pytest $(PYTEST_ARGS)

# The wheel and sdist users would install: built from a clean tree, metadata checked by twine.
dist-check: $(STAMP)
	rm -rf build/dist-check
	$(PY) -m build --quiet --outdir build/dist-check .
	$(VENV)/bin/twine check --strict build/dist-check/*

test: lint dist-check unit

demo: $(STAMP)
	$(PY) -m example_project.fleet $(DEMO_ARGS)
	$(PY) -m example_project.scenarios $(SCENARIO_ARGS)

# The same run, and build/demo-report.html with its charts.
demo-html: $(STAMP)
	mkdir -p build
	$(PY) -m example_project.fleet --html build/demo-report.html $(DEMO_ARGS)

demo-short: $(STAMP)
	$(PY) -m example_project.fleet --short $(DEMO_ARGS)
	$(PY) -m example_project.scenarios --short $(SCENARIO_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks $(BENCH_ARGS)

# `sam build` for example_project/template.yaml (BuildMethod: makefile) calls these.
build-DjangoFunction build-FlaskFunction:
	python3 -m pip install --quiet --target "$(ARTIFACTS_DIR)" '.[django,flask,redis]' mangum apig-wsgi
	cp -r example_project "$(ARTIFACTS_DIR)/"

clean:
	rm -rf $(VENV) $(NODE_DIR) .pytest_cache .mypy_cache .ruff_cache build dist
