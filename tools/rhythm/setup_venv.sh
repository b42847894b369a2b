#!/usr/bin/env bash
# Create tools/rhythm/.venv with torch, safetensors, librosa, mir_eval and music21 (see
# tools/setup_venv.sh and tools/rhythm/requirements.txt). Only needed to regenerate the committed
# fixtures and results in tools/rhythm/ or to run the PyTorch benchmark; building and testing
# never need Python.
#
# Usage: bash tools/rhythm/setup_venv.sh
# Then:  tools/rhythm/.venv/bin/python tools/rhythm/bench_torch.py
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../setup_venv.sh" "$here" "torch, safetensors, librosa, mir_eval, music21"
