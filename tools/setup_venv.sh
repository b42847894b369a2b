#!/usr/bin/env bash
# Create tools/.venv (if missing) and install tools/requirements.txt into it
# (if reservoirpy is not importable yet). Idempotent and quiet when already set up.
#
# Usage: bash tools/setup_venv.sh        (from anywhere)
# Then:  tools/.venv/bin/python tools/esn_cases.py --help
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "setup_venv: creating $venv"
    python3 -m venv "$venv"
fi

if ! "$py" -c "import reservoirpy" >/dev/null 2>&1; then
    echo "setup_venv: installing $here/requirements.txt"
    nice -n 10 "$py" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    "$py" -c "import reservoirpy; print('setup_venv: reservoirpy', reservoirpy.__version__)"
fi
