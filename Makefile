# colo — two commands on a fresh machine:
#   make demo   set up .venv and run the default simulation (out/report.html, out/summary.json)
#   make test   set up everything and run every check and test
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
OUT ?= out
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_TEST := $(VENV)/.installed-test

-include mk/cluster.mk
-include mk/browser.mk
-include mk/tools.mk
-include mk/chart.mk

.PHONY: help demo test lint typecheck layers unit bench venv clean proto

help:
	@echo "make demo   - install and run the default simulation, writing $(OUT)/report.html"
	@echo "make test   - install and run ruff, mypy, import-linter and pytest"
	@echo "make bench  - run every benchmark in bench/"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e .
	@touch $@

$(STAMP_TEST): pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[test]'
	@touch $@ $(STAMP_DEMO)

venv: $(STAMP_TEST)

demo: $(STAMP_DEMO)
	$(VENV)/bin/colo sim --scenario default --out $(OUT)

lint: $(STAMP_TEST)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP_TEST)
	$(VENV)/bin/mypy

layers: $(STAMP_TEST)
	$(VENV)/bin/lint-imports

unit: $(STAMP_TEST) browser cluster-bins chart-schemas stress-ng
	$(VENV)/bin/pytest -q

test: lint typecheck layers unit

# Each bench/<name>.py runs alone (the kube_* ones start their own 1,000-node dev
# cluster); files starting with _ are shared helpers.
bench: $(STAMP_TEST) cluster-bins stress-ng
	@set -e; for b in bench/[!_]*.py; do echo "== $$b"; $(PY) $$b; done

# Regenerate the code from proto/ (committed; tests check it is current): Python in
# src/colo/rpc and src/colo/kube/pb (the pod list decoder's messages), Go (the
# coordinator client of the kube-scheduler plugin) in build/scheduler-plugin/rpc/coordv1
# (needs go; builds protoc-gen-go{,-grpc} once).
proto: $(STAMP_TEST)
	$(PY) -m grpc_tools.protoc -Iproto --python_out=src --grpc_python_out=src --pyi_out=src \
		proto/colo/rpc/coord/v1/coordinator.proto
	$(PY) -m grpc_tools.protoc -Iproto --python_out=src --pyi_out=src proto/colo/kube/pb/core.proto
	bash build/scheduler-plugin/genproto.sh $(PY)

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
