#!/usr/bin/env bash
# Create tools/chorales/.venv (if missing) and install tools/chorales/requirements.txt
# into it (if music21 is not importable yet). Idempotent and quiet when already set up.
#
# Usage: bash tools/chorales/setup_venv.sh        (from anywhere)
# Then:  nice -n 10 tools/chorales/.venv/bin/python tools/chorales/extract.py
#
# Only needed to regenerate data/chorales/; building and testing never need Python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "setup_venv: creating $venv"
    python3 -m venv "$venv"
fi

if ! "$py" -c "import music21" >/dev/null 2>&1; then
    echo "setup_venv: installing $here/requirements.txt"
    nice -n 10 "$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    "$py" -c "import music21; print('setup_venv: music21', music21.__version__)"
fi
