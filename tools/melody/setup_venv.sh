#!/usr/bin/env bash
# Create tools/melody/.venv with torch, safetensors, NumPy and mido (see tools/setup_venv.sh and
# tools/melody/requirements.txt). Only needed to train a melody model in PyTorch
# (tools/melody/train_torch.py) or to regenerate its committed fixture; building and testing never
# need Python.
#
# Usage: bash tools/melody/setup_venv.sh
# Then:  tools/melody/.venv/bin/python tools/melody/train_torch.py --help
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../setup_venv.sh" "$here" "torch, safetensors, numpy, mido"
