"""Compare `tidepool esn-trace` against ReservoirPy-generated ESN cases.

For every *.json case in --cases (written by tools/esn_cases.py, with
"expected_states"/"expected_outputs" computed by ReservoirPy 0.4.2) this runs

    BIN esn-trace CASE.json

parses the JSON it prints on stdout ({"states": T x N, "outputs": T x K}), and
prints one line per case with max |delta| of the states and of the outputs. It
exits 1 if any case exceeds --tol, fails to run, or has a shape mismatch (2 on
usage errors, e.g. no cases found).

With --generate COUNT it also writes COUNT fresh random cases (computed by
ReservoirPy, via tools/esn_cases.py) into a temporary directory and checks them
too; that needs the tools venv (bash tools/setup_venv.sh). Comparing only the
stored cases needs nothing beyond the Python standard library.

Usage (from the repository root):

    python3 tools/esn_compare.py --bin target/release/tidepool \\
        --cases crates/reservoir/tests/fixtures/esn
    tools/.venv/bin/python tools/esn_compare.py --bin target/release/tidepool \\
        --cases crates/reservoir/tests/fixtures/esn --generate 20 --seed 5 --tol 1e-4
"""

import argparse
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def max_abs_diff(got, want, what):
    """Max |got - want| over two T x M lists; raises ValueError on shape mismatch."""
    if not isinstance(got, list) or len(got) != len(want):
        n = len(got) if isinstance(got, list) else type(got).__name__
        raise ValueError(f"{what}: got {n} rows, expected {len(want)}")
    worst = 0.0
    for t, (g_row, w_row) in enumerate(zip(got, want)):
        if not isinstance(g_row, list) or len(g_row) != len(w_row):
            n = len(g_row) if isinstance(g_row, list) else type(g_row).__name__
            raise ValueError(f"{what}[{t}]: got {n} values, expected {len(w_row)}")
        for g, w in zip(g_row, w_row):
            if not isinstance(g, (int, float)) or isinstance(g, bool):
                raise ValueError(f"{what}[{t}]: non-numeric value {g!r}")
            d = abs(float(g) - float(w))
            if math.isnan(d):
                return math.inf
            worst = max(worst, d)
    return worst


def check_case(binary, path, tol, timeout):
    """Returns (ok, line)."""
    name = os.path.basename(path)
    with open(path) as f:
        case = json.load(f)
    meta = case.get("meta", {})
    desc = f"{case.get('feedback', '?'):8s} N={meta.get('N', '?')} lr={case.get('lr')}"
    try:
        proc = subprocess.run([binary, "esn-trace", path], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"FAIL {name:40s} {desc}  could not run: {e}"
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()[-1:] or [""]
        return False, f"FAIL {name:40s} {desc}  exit {proc.returncode}: {err[0]}"
    try:
        out = json.loads(proc.stdout)
        ds = max_abs_diff(out["states"], case["expected_states"], "states")
        dy = max_abs_diff(out["outputs"], case["expected_outputs"], "outputs")
    except (ValueError, KeyError, TypeError) as e:
        return False, f"FAIL {name:40s} {desc}  bad output: {type(e).__name__}: {e}"
    ok = ds <= tol and dy <= tol
    return ok, f"{'ok  ' if ok else 'FAIL'} {name:40s} {desc}  max|dstate|={ds:.3e} max|dout|={dy:.3e}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="path to the tidepool binary")
    ap.add_argument("--cases", required=True, help="directory of case *.json files")
    ap.add_argument("--tol", type=float, default=1e-4, help="max allowed |delta| (default 1e-4)")
    ap.add_argument("--generate", type=int, default=0, metavar="COUNT",
                    help="also check COUNT fresh random cases generated with ReservoirPy")
    ap.add_argument("--seed", type=int, default=None, help="seed for --generate (default: random, printed)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per binary run")
    a = ap.parse_args(argv)

    binary = a.bin if os.path.isfile(a.bin) else shutil.which(a.bin)
    if not binary or not os.access(binary, os.X_OK):
        print(f"esn_compare: --bin {a.bin!r} is not an executable file", file=sys.stderr)
        return 2
    paths = sorted(glob.glob(os.path.join(a.cases, "*.json")))

    tmp = None
    if a.generate > 0:
        sys.path.insert(0, HERE)
        try:
            import esn_cases  # needs reservoirpy (tools/.venv)
        except ImportError as e:
            print(f"esn_compare: --generate needs ReservoirPy ({e}); run bash tools/setup_venv.sh "
                  "and use tools/.venv/bin/python", file=sys.stderr)
            return 2
        seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
        tmp = tempfile.TemporaryDirectory(prefix="esn_cases_")
        print(f"generating {a.generate} random cases with ReservoirPy (seed {seed}) in {tmp.name}")
        paths += esn_cases.generate_random(tmp.name, a.generate, seed)

    if not paths:
        print(f"esn_compare: no *.json cases in {a.cases}", file=sys.stderr)
        return 2

    failed = 0
    try:
        for path in paths:
            ok, line = check_case(binary, path, a.tol, a.timeout)
            failed += not ok
            print(line, flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(f"{len(paths) - failed} passed, {failed} failed (tol {a.tol:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
