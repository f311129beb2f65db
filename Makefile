# goiso — common tasks.  `make` alone lists them.

HOST ?= 127.0.0.1
PORT ?= 8080
PYTEST_ARGS ?=
# Test files run side by side in this many processes (pytest-xdist; 1: one process).
PYTEST_WORKERS ?= 2
SETUP_ARGS ?=
VENV := .venv

.DEFAULT_GOAL := help
.PHONY: help setup run test lint bench clean install install-screen hub-demo

help: ## list the targets
	@echo "goiso make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-14s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)
	@echo
	@echo "variables: HOST=$(HOST) PORT=$(PORT) PYTEST_ARGS='$(PYTEST_ARGS)'" \
		"SETUP_ARGS='$(SETUP_ARGS)' (e.g. SETUP_ARGS=--no-apt) PYTEST_WORKERS=$(PYTEST_WORKERS)"

setup: ## install Debian packages, .venv, htmx assets, translations (scripts/setup)
	@scripts/setup $(SETUP_ARGS)

run: setup ## serve the demo hall on HOST:PORT, data in var/demo
	@mkdir -p var/demo
	$(VENV)/bin/goiso serve --demo --data-dir var/demo --host $(HOST) --port $(PORT)

hub-demo: setup ## a local PostgreSQL, the province hub and 3 demo halls with traffic (Ctrl-C stops)
	$(VENV)/bin/python -m hub.demo

test: setup ## ruff check + the whole pytest suite (PYTEST_ARGS='-k ...' to narrow)
	@status=0; \
	echo "+ ruff check ."; \
	$(VENV)/bin/ruff check . || status=$$?; \
	echo "+ pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)"; \
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) \
		|| status=$$?; \
	exit $$status

install: ## on the Pi, as root: server, units, udev rules (DESTDIR=dir stages; docs/install.md)
	@scripts/install $(if $(DESTDIR),DESTDIR=$(DESTDIR))

install-screen: ## screen-only Pi, as root: the kiosk browser unit only (DESTDIR=dir stages)
	@scripts/install --screen-only $(if $(DESTDIR),DESTDIR=$(DESTDIR))

lint: ## ruff check only
	@scripts/setup --no-apt
	$(VENV)/bin/ruff check .

bench: setup ## run the benchmarks (python -m bench)
	$(VENV)/bin/python -m bench

clean: ## remove .venv, node_modules, static/vendor, compressed copies and var
	rm -rf $(VENV) node_modules static/vendor var .pytest_cache .ruff_cache
	find static \( -name '*.gz' -o -name '*.br' \) -type f -delete
