#!/usr/bin/env bash
# Create tools/chorales/.venv with music21 (see tools/setup_venv.sh). Only needed to regenerate
# data/chorales/; building and testing never need Python.
#
# Usage: bash tools/chorales/setup_venv.sh
# Then:  nice -n 10 tools/chorales/.venv/bin/python tools/chorales/extract.py
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../setup_venv.sh" "$here" music21
