# Hushbox: `make run` and `make test` set themselves up on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
MODEL_DIR := models
REPORT_DIR := reports/evaluation
RECORDING := tests/data/cry_in_room.wav
ALSA_HEADER := /usr/include/alsa/asoundlib.h
SYSTEM_PACKAGES := libasound2-dev alsa-utils

.PHONY: help run test lint train evaluate bench system-deps clean
help:
	@echo "make run       scan the bundled recording and print what the detector hears"
	@echo "make test      lint + the whole test suite"
	@echo "make train     train the shipped model on $(DATA)"
	@echo "make evaluate  nested cross-validation report in $(REPORT_DIR)"
	@echo "make bench     speed and memory against the baseline, into build/bench.json"
	@echo "make image / flash / rehearse   the Raspberry Pi image (see README)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "hushbox: needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "hushbox: python3 -m venv failed; installing python3-venv"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv && \
	  $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

# The device path only (numpy + scipy): enough to scan WAV files.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

# ALSA bindings, training/plot tools, test tools.
$(VENV)/.all: pyproject.toml | $(BIN)/python system-deps
	$(BIN)/pip install -q -e '.[alsa,tools,dev]'
	@touch $@ $(VENV)/.core

# The benchmark's baseline (librosa): never needed by the device or the tests.
$(VENV)/.bench: pyproject.toml | $(VENV)/.all
	$(BIN)/pip install -q -e '.[alsa,tools,dev,bench]'
	@touch $@

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@if [ ! -f $(ALSA_HEADER) ] || ! command -v aplay >/dev/null; then \
	  echo "hushbox: installing $(SYSTEM_PACKAGES) (ALSA headers for pyalsaaudio)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES) \
	  >/dev/null; fi

run: $(VENV)/.core
	$(BIN)/hushbox scan $(RECORDING)

lint: $(VENV)/.all
	$(BIN)/ruff check appliance tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

train: $(VENV)/.all
	$(BIN)/hushbox train --data $(DATA) --out $(MODEL_DIR)

evaluate: $(VENV)/.all
	$(BIN)/hushbox evaluate --data $(DATA) --report $(REPORT_DIR)

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/bench.py --out build/bench.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

-include build/image.mk
