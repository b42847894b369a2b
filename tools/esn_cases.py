"""Generate random echo-state-network (ESN) conformance cases, with the expected
trajectories computed by ReservoirPy 0.4.2 itself.

Each case is one JSON file in the format read by `tidepool esn-trace case.json`:

    {"W": N x N, "Win": N x D, "bias": N, "lr": alpha,
     "Wfb": N x K or null, "Wout": K x N,
     "feedback": "none" | "identity" | "sigmoid", "inputs": T x D,
     "expected_states": T x N, "expected_outputs": T x K, "meta": {...}}

(matrices are lists of rows; floats are written with Python's shortest
round-trip repr, i.e. exact float64). The semantics, which the ReservoirPy graph
below reproduces (checked with --self-check against a NumPy loop):

    s_0 = 0,  y'_0 = g(0)   (0 for identity, 0.5 for sigmoid)
    h_t = tanh(Win x_t + W s_{t-1} + Wfb y'_{t-1} + b)
    s_t = (1 - lr) s_{t-1} + lr h_t
    y_t = Wout s_t,  y'_t = g(y_t)

How ReservoirPy 0.4.2 is wired (see build_model):
  * the reservoir is `Reservoir(W=W, Win=[Win | Wfb], bias=b, lr=lr)`: in 0.4.x
    feedback is just a delayed (delay=1) graph edge whose value is concatenated
    after the direct input, so the feedback weights are the last K columns of Win;
  * the readout is `Ridge(Wout=Wout.T, bias=zeros(K), fit_bias=False)`, never fitted
    (0.4.2's Ridge stores Wout as (N, K) and computes x @ Wout + bias; bias must be
    given explicitly, None would fail);
  * "identity": edge readout -1-> reservoir. The delay buffer starts at 0 = y'_0;
  * "sigmoid": edge readout -1-> Sigmoid -0-> reservoir, i.e. the sigmoid sits on
    the receiving side of the delay, so at the first step it sees the zero buffer
    and feeds sigmoid(0) = 0.5 (putting the Sigmoid before the delay would feed 0
    at the first step instead). The model then has two source nodes, so the input
    goes through a named `Input` node;
  * models with a feedback edge are initialised with a dummy teacher for the node
    that sends the delayed edge (`model.initialize(x, y={"readout": zeros})`);
    without it Model.initialize/run raises "Model has a cycle" (and the feedback
    width would not be counted in the receiver's input size);
  * reservoir states are read through an `Output` probe node.

Usage (from the repository root, after `bash tools/setup_venv.sh`):

    tools/.venv/bin/python tools/esn_cases.py --out crates/reservoir/tests/fixtures/esn
    tools/.venv/bin/python tools/esn_cases.py --out /tmp/cases --random 10 --seed 7
    tools/.venv/bin/python tools/esn_cases.py --self-check   # ReservoirPy vs NumPy loop

Without --random it writes the fixed fixture set (none_lr03, identity_lr1,
sigmoid_lr01, sparse_n40); everything is deterministic from --seed.
"""

import argparse
import json
import os
import sys

import numpy as np

import reservoirpy
from reservoirpy import Model, mat_gen
from reservoirpy.nodes import Input, Output, Reservoir, Ridge, Sigmoid

FEEDBACKS = ("none", "identity", "sigmoid")
DEFAULT_SEED = 20240601
T_DEFAULT = 300

# The committed fixture set: name -> generation parameters.
FIXTURES = [
    ("none_lr03", dict(n=30, d=2, k=2, sr=0.9, connectivity=1.0, lr=0.3, feedback="none")),
    ("identity_lr1", dict(n=24, d=1, k=1, sr=0.8, connectivity=1.0, lr=1.0, feedback="identity")),
    ("sigmoid_lr01", dict(n=32, d=3, k=3, sr=0.95, connectivity=1.0, lr=0.1, feedback="sigmoid")),
    ("sparse_n40", dict(n=40, d=2, k=2, sr=0.7, connectivity=0.1, lr=0.3, feedback="identity")),
]


def _dense(m):
    return m.toarray() if hasattr(m, "toarray") else np.asarray(m)


def _rho(m):
    return float(np.max(np.abs(np.linalg.eigvals(_dense(m)))))


def make_params(seed, n, d, k, sr, connectivity, lr, feedback, t=T_DEFAULT):
    """Random ESN parameters and inputs (float64). W comes from ReservoirPy's own
    initializer (mat_gen.normal, rescaled to spectral radius `sr`)."""
    if feedback not in FEEDBACKS:
        raise ValueError(f"unknown feedback {feedback!r}")
    rng = np.random.default_rng(seed)
    W = mat_gen.normal(n, n, sr=sr, connectivity=connectivity, seed=int(rng.integers(2**31)))
    W = _dense(W).astype(np.float64)
    Win = rng.uniform(-1.0, 1.0, size=(n, d)) * 0.8
    bias = rng.uniform(-0.2, 0.2, size=n)
    Wout = rng.normal(0.0, 1.0 / np.sqrt(n), size=(k, n))
    inputs = rng.uniform(-1.0, 1.0, size=(t, d))
    Wfb = None
    loop_rho = _rho(W)
    if feedback != "none":
        Wfb = rng.uniform(-1.0, 1.0, size=(n, k)) * 0.5
        # Keep the closed loop (linearised at 0) contracting so that float
        # rounding differences do not blow up over T steps.
        gain = 1.0 if feedback == "identity" else 0.25  # g'(0)
        for _ in range(100):
            loop_rho = _rho(W + gain * Wfb @ Wout)
            if loop_rho < 0.97:
                break
            Wfb *= 0.8
    return dict(
        W=W, Win=Win, bias=bias, lr=float(lr), Wfb=Wfb, Wout=Wout, feedback=feedback, inputs=inputs,
        meta=dict(
            seed=int(seed), N=n, D=d, K=k, T=t, spectral_radius=_rho(W), target_spectral_radius=sr,
            connectivity=connectivity, loop_spectral_radius=loop_rho,
            reservoirpy_version=reservoirpy.__version__, numpy_version=np.__version__,
            generator="tools/esn_cases.py",
        ),
    )


def build_model(p):
    """Build the ReservoirPy 0.4.2 model for case parameters p.
    Returns (model, run) where run(inputs) -> (states, outputs)."""
    W, Win, bias, lr, Wfb, Wout = p["W"], p["Win"], p["bias"], p["lr"], p["Wfb"], p["Wout"]
    n, k = W.shape[0], Wout.shape[0]
    fb = p["feedback"]
    W_rpy = W
    if p["meta"].get("connectivity", 1.0) < 1.0:
        from scipy import sparse

        W_rpy = sparse.csr_array(W)  # exercise ReservoirPy's sparse path, as its own init does
    win_full = Win if fb == "none" else np.hstack([Win, Wfb])
    res = Reservoir(units=n, W=W_rpy, Win=win_full, bias=bias, lr=lr, dtype=np.float64, name="reservoir")
    readout = Ridge(Wout=np.ascontiguousarray(Wout.T), bias=np.zeros(k), fit_bias=False, name="readout")
    probe = Output(name="states")

    if fb == "none":
        model = Model(nodes=[res, readout, probe], edges=[(res, 0, readout), (res, 0, probe)])

        def feed(x):
            return x

    elif fb == "identity":
        # readout --(delay 1)--> reservoir; concatenated after the input.
        model = Model(
            nodes=[res, readout, probe],
            edges=[(res, 0, readout), (res, 0, probe), (readout, 1, res)],
        )

        def feed(x):
            return x

    else:  # sigmoid
        src = Input(name="input")
        g = Sigmoid(name="fb_sigmoid")
        # Edge order matters: the reservoir concatenates its direct parents in edge
        # order, so (src -> res) must come before (g -> res) to match [Win | Wfb].
        model = Model(
            nodes=[src, res, readout, probe, g],
            edges=[(src, 0, res), (g, 0, res), (res, 0, readout), (res, 0, probe), (readout, 1, g)],
        )

        def feed(x):
            return {"input": x}

    def run(x):
        x = np.asarray(x, dtype=np.float64)
        if fb != "none":
            model.initialize(feed(x), y={"readout": np.zeros((x.shape[0], k))})
        out = model.run(feed(x))
        return np.asarray(out["states"]), np.asarray(out["readout"])

    return model, run


def run_reservoirpy(p):
    _, run = build_model(p)
    states, outputs = run(p["inputs"])
    t = p["inputs"].shape[0]
    assert states.shape == (t, p["W"].shape[0]), states.shape
    assert outputs.shape == (t, p["Wout"].shape[0]), outputs.shape
    return states, outputs


def numpy_reference(p, y0_override=None):
    """Independent NumPy loop of the documented equations (only for --self-check).
    y0_override replaces y'_0 = g(0) (used for a negative control)."""
    W, Win, b, lr, Wfb, Wout = p["W"], p["Win"], p["bias"], p["lr"], p["Wfb"], p["Wout"]
    g = {"none": None, "identity": lambda y: y, "sigmoid": lambda y: 1.0 / (1.0 + np.exp(-y))}[p["feedback"]]
    s = np.zeros(W.shape[0])
    yp = g(np.zeros(Wout.shape[0])) if g else None
    if y0_override is not None:
        yp = np.full(Wout.shape[0], float(y0_override))
    S, Y = [], []
    for x in p["inputs"]:
        pre = Win @ x + W @ s + b
        if g:
            pre = pre + Wfb @ yp
        s = (1 - lr) * s + lr * np.tanh(pre)
        y = Wout @ s
        if g:
            yp = g(y)
        S.append(s)
        Y.append(y)
    return np.array(S), np.array(Y)


def make_case(seed, **kw):
    p = make_params(seed, **kw)
    states, outputs = run_reservoirpy(p)
    p["expected_states"] = states
    p["expected_outputs"] = outputs
    return p


def random_kwargs(rng, feedback=None):
    """Parameters for a random case (used by --random and esn_compare --generate)."""
    return dict(
        n=int(rng.integers(10, 41)),
        d=int(rng.integers(1, 4)),
        k=int(rng.integers(1, 4)),
        sr=float(np.round(rng.uniform(0.5, 0.95), 3)),
        connectivity=float(rng.choice([1.0, 1.0, 0.1, 0.3])),
        lr=float(rng.choice([0.1, 0.3, 0.5, 1.0])),
        feedback=feedback or str(rng.choice(FEEDBACKS)),
    )


def generate_random(out_dir, count, seed):
    """Write `count` random cases into out_dir; returns the list of paths."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        case_seed = int(rng.integers(2**31))
        kw = random_kwargs(rng, feedback=FEEDBACKS[i % 3])
        p = make_case(case_seed, **kw)
        name = f"random_{i:03d}_{kw['feedback']}_n{kw['n']}_lr{kw['lr']:g}.json"
        paths.append(write_case(os.path.join(out_dir, name), p))
    return paths


def _fmt(v):
    if isinstance(v, float):
        if not np.isfinite(v):
            raise ValueError("non-finite value in case")
        return repr(v)
    return json.dumps(v)


def _rows(m):
    m = np.asarray(m, dtype=np.float64)
    if m.ndim == 1:
        return "[" + ",".join(repr(float(v)) for v in m) + "]"
    return "[\n" + ",\n".join("[" + ",".join(repr(float(v)) for v in row) + "]" for row in m) + "]"


def write_case(path, p):
    """Write a case with one matrix row per line; floats as exact float64 repr."""
    keys = ["feedback", "lr", "W", "Win", "bias", "Wfb", "Wout", "inputs",
            "expected_states", "expected_outputs", "meta"]
    parts = []
    for key in keys:
        v = p[key]
        if key == "meta":
            txt = json.dumps(v, sort_keys=True)
        elif v is None:
            txt = "null"
        elif isinstance(v, (str, float, int)):
            txt = _fmt(v)
        else:
            txt = _rows(v)
        parts.append(f'"{key}":{txt}')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(parts) + "\n}\n")
    # Round-trip check: what we wrote parses back bit-exactly.
    with open(path) as f:
        back = json.load(f)
    for key in ("W", "Win", "bias", "Wout", "inputs", "expected_states", "expected_outputs"):
        assert np.array_equal(np.asarray(back[key]), np.asarray(p[key])), key
    return path


def self_check(seed):
    """Check that the ReservoirPy wiring implements the documented equations."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    cases = [kw for _, kw in FIXTURES] + [random_kwargs(rng, f) for f in FEEDBACKS * 3]
    for i, kw in enumerate(cases):
        p = make_params(seed + i, **kw)
        s_r, y_r = run_reservoirpy(p)
        s_n, y_n = numpy_reference(p)
        ds = float(np.max(np.abs(s_r - s_n)))
        dy = float(np.max(np.abs(y_r - y_n)))
        worst = max(worst, ds, dy)
        print(f"self-check {kw['feedback']:8s} n={kw['n']:2d} lr={kw['lr']:<4g} conn={kw['connectivity']:<4g} "
              f"max|dstate|={ds:.3e} max|dout|={dy:.3e}")
    # Negative control: a NumPy loop with y'_0 = 0 instead of sigmoid(0) = 0.5
    # must NOT match ReservoirPy's sigmoid-feedback trajectory.
    p = make_params(seed, **dict(FIXTURES[2][1]))
    s_r, _ = run_reservoirpy(p)
    s_0, _ = numpy_reference(p, y0_override=0.0)
    control = float(np.max(np.abs(s_r - s_0)))
    print(f"self-check control: sigmoid with y'_0=0 differs by {control:.3e} (must be large)")
    ok = worst < 1e-12 and control > 1e-6
    print("self-check", "OK" if ok else "FAILED", f"(worst {worst:.3e})")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output directory for case JSON files")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--random", type=int, default=0, metavar="COUNT",
                    help="write COUNT random cases instead of the fixed fixture set")
    ap.add_argument("--self-check", action="store_true",
                    help="compare the ReservoirPy wiring against a NumPy loop and exit")
    a = ap.parse_args(argv)

    if a.self_check:
        return 0 if self_check(a.seed) else 1
    if not a.out:
        ap.error("--out is required")
    if a.random:
        paths = generate_random(a.out, a.random, a.seed)
    else:
        paths = []
        for i, (name, kw) in enumerate(FIXTURES):
            p = make_case(a.seed + i, **kw)
            paths.append(write_case(os.path.join(a.out, name + ".json"), p))
    for path in paths:
        print(f"{path}  {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
