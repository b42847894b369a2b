#!/usr/bin/env bash
# Regenerates tools/rhythm/librosa-onsets.json: the Rust tests write their signals and rendered
# loops as WAV files (with the loops' true onsets), librosa analyses them.
#
# Usage: bash tools/rhythm/onsets_librosa.sh [PYTHON]
#   PYTHON: an interpreter with librosa and mir_eval (default /tmp/pyt/venv/bin/python; see
#   tools/rhythm/requirements.txt for the versions the committed results came from).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${1:-/tmp/pyt/venv/bin/python}"
wavs="$(mktemp -d)"
trap 'rm -rf "$wavs"' EXIT

cd "$root"
export TIDEPOOL_ONSET_WAVS="$wavs"
cargo test -q -p tidepool-rhythm --test onsets_librosa -- --ignored write_signals_for_librosa
cargo test -q -p tidepool-cli --test onset_loops -- --ignored write_loops_for_librosa
"$python" tools/rhythm/onsets_librosa.py "$wavs" -o tools/rhythm/librosa-onsets.json
echo "wrote tools/rhythm/librosa-onsets.json from $(ls "$wavs"/*.wav | wc -l) files"
