#!/usr/bin/env bash
# Create a tools venv (if missing) and install its requirements.txt into it (if MODULE is not
# importable yet). Idempotent and quiet when already set up.
#
# Usage: bash tools/setup_venv.sh [DIR MODULE]
#   default: tools/.venv from tools/requirements.txt, checked by importing reservoirpy
#   e.g.     bash tools/setup_venv.sh tools/chorales music21
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$(cd "${1:-$here}" && pwd)"
module="${2:-reservoirpy}"
# The default venv also serves the melody conformance reference (safetensors + NumPy).
[ -z "${2:-}" ] && module="reservoirpy, safetensors"
venv="$dir/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "setup_venv: creating $venv"
    python3 -m venv "$venv"
fi

if ! "$py" -c "import $module" >/dev/null 2>&1; then
    echo "setup_venv: installing $dir/requirements.txt"
    nice -n 10 "$py" -m pip install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
    "$py" -c "import $module; print('setup_venv: installed $module')"
fi
