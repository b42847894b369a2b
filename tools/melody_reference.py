"""Independent NumPy implementation of the melody LSTM, for the conformance test.

Reads a tidepool melody model (safetensors, PyTorch state-dict names, 1-3 layers) with the
`safetensors` package, runs embedding (+ the one-hot metrical position when the metadata's
position_input is "16", token i of a sequence at position i % 16) -> LSTM x L -> linear -> softmax
in float64 exactly as PyTorch's nn.LSTM documents it (gates i, f, g, o), and writes the
next-token probabilities after each token of a few token sequences to a golden JSON file.
`cargo test` compares tidepool's own implementation against that file without needing Python.

Run: bash tools/setup_venv.sh && tools/.venv/bin/python tools/melody_reference.py \
        --model web/models/melody-lstm.safetensors --out crates/melody/tests/golden/lstm_probs.json

`--write-random FILE --layers L --hidden H --embedding E --position-input 0|16 --seed S` first
writes a model of random weights (f16) there, for shapes no trained model covers.
"""

import argparse
import hashlib
import json

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

SEQUENCES = [
    [60, 129, 129, 129, 62, 129, 64, 129, 129, 129, 65, 129, 67, 129, 129, 129, 128, 129, 129, 129],
    [69, 129, 71, 129, 72, 129, 129, 129, 74, 129, 72, 129, 71, 129, 69, 129, 68, 129, 69, 129, 129, 129, 128],
    [48, 129, 129, 129, 55, 129, 129, 129, 53, 129, 52, 129, 50, 129, 129, 129, 48, 129, 129, 129, 128, 129],
]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def load(path):
    weights = {}
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
        for name in f.keys():
            weights[name] = f.get_tensor(name).astype(np.float64)
    return weights, metadata


def probabilities(weights, metadata, tokens):
    layers = sum(1 for name in weights if name.startswith("lstm.weight_ih_l"))
    positions = int(metadata.get("position_input", "0"))
    hidden = weights["lstm.weight_hh_l0"].shape[1]
    h = [np.zeros(hidden) for _ in range(layers)]
    c = [np.zeros(hidden) for _ in range(layers)]
    out = []
    for i, t in enumerate(tokens):
        x = weights["embedding.weight"][t]
        if positions:
            x = np.concatenate([x, np.eye(positions)[i % 16]])
        for k in range(layers):
            gates = (weights[f"lstm.weight_ih_l{k}"] @ x + weights[f"lstm.bias_ih_l{k}"]
                     + weights[f"lstm.weight_hh_l{k}"] @ h[k] + weights[f"lstm.bias_hh_l{k}"])
            i, f, g, o = np.split(gates, 4)
            c[k] = sigmoid(f) * c[k] + sigmoid(i) * np.tanh(g)
            h[k] = sigmoid(o) * np.tanh(c[k])
            x = h[k]
        logits = weights["linear.weight"] @ x + weights["linear.bias"]
        e = np.exp(logits - logits.max())
        out.append((e / e.sum()).tolist())
    return out


def write_random(path, layers, hidden, embedding, position_input, seed):
    """A model of uniform random weights in +-4/sqrt(H), f16: four times PyTorch's initialisation
    range, so that its distributions are peaked like a trained model's (with PyTorch's range they
    are nearly uniform, and a position fed one 16th off moved no probability by 1e-4)."""
    rng = np.random.default_rng(seed)
    bound = 4 / np.sqrt(hidden)
    r = lambda *shape: rng.uniform(-bound, bound, shape).astype(np.float16)
    t = {"embedding.weight": rng.normal(0, 1, (130, embedding)).astype(np.float16)}
    for k in range(layers):
        inputs = embedding + position_input if k == 0 else hidden
        t[f"lstm.weight_ih_l{k}"] = r(4 * hidden, inputs)
        t[f"lstm.weight_hh_l{k}"] = r(4 * hidden, hidden)
        t[f"lstm.bias_ih_l{k}"] = r(4 * hidden)
        t[f"lstm.bias_hh_l{k}"] = r(4 * hidden)
    t["linear.weight"] = r(130, hidden)
    t["linear.bias"] = r(130)
    metadata = {"format_version": "1", "vocab_size": "130", "position_input": str(position_input),
                "seed": str(seed), "trained_on": "nothing: random weights (tools/melody_reference.py)"}
    save_file(t, path, metadata=metadata)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--write-random", action="store_true", help="first write a random model to --model")
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--embedding", type=int, default=16)
    ap.add_argument("--position-input", type=int, default=16, choices=[0, 16])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.write_random:
        write_random(args.model, args.layers, args.hidden, args.embedding, args.position_input, args.seed)
    weights, metadata = load(args.model)
    with open(args.model, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    cases = [{"tokens": seq, "probs": probabilities(weights, metadata, seq)} for seq in SEQUENCES]
    golden = {"model": args.model, "sha256": digest, "model_bytes": len(open(args.model, "rb").read()),
              "metadata": metadata, "format_version": metadata.get("format_version"),
              "implementation": "NumPy float64 (tools/melody_reference.py)", "cases": cases}
    with open(args.out, "w") as f:
        json.dump(golden, f)
    print(f"wrote {args.out}: {len(cases)} sequences, model sha256 {digest[:12]}")


if __name__ == "__main__":
    main()
