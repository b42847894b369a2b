"""Benchmark ReservoirPy's reservoir update speed (steps per second).

For each N (default 100, 300, 1000) it builds
`Reservoir(units=N, sr=0.9, lr=0.3, rc_connectivity=0.1, seed=...)`, initialises it
on a short input (so weight generation is not timed), does one untimed warm-up
`.run` over the full input, then times `.run` over T=10000 steps of a 1-D random
input three times and reports the best. One JSON line per N:

    {"impl":"reservoirpy","version":"0.4.2","n":300,"connectivity":0.1,"steps":10000,"steps_per_sec":...}

Usage (from the repository root, after `bash tools/setup_venv.sh`):

    tools/.venv/bin/python tools/bench_reservoirpy.py
    tools/.venv/bin/python tools/bench_reservoirpy.py --sizes 100,300 --steps 5000 --repeats 5

Results depend on machine load (e.g. a concurrent cargo build on this 2-core box).
"""

import argparse
import json
import sys
import time

import numpy as np

import reservoirpy
from reservoirpy.nodes import Reservoir


def bench(n, steps, repeats, connectivity, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(steps, 1))
    res = Reservoir(units=n, sr=0.9, lr=0.3, rc_connectivity=connectivity, seed=seed)
    res.run(x[:10])  # initialise (weight generation, spectral radius) outside the timing
    res.run(x)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        res.run(x)
        best = min(best, time.perf_counter() - t0)
    return steps / best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,300,1000", help="comma-separated reservoir sizes")
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--connectivity", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args(argv)
    for n in (int(s) for s in a.sizes.split(",")):
        sps = bench(n, a.steps, a.repeats, a.connectivity, a.seed)
        print(json.dumps({
            "impl": "reservoirpy", "version": reservoirpy.__version__, "n": n,
            "connectivity": a.connectivity, "steps": a.steps, "steps_per_sec": round(sps, 1),
        }, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
