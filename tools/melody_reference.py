"""Independent NumPy implementation of the melody LSTM, for the conformance test.

Reads a tidepool melody model (safetensors, PyTorch state-dict names) with the `safetensors`
package, runs embedding -> LSTM -> LSTM -> linear -> softmax in float64 exactly as PyTorch's
nn.LSTM documents it (gates i, f, g, o), and writes the next-token probabilities after each
token of a few token sequences to a golden JSON file. `cargo test` compares tidepool's own
implementation (`tidepool melody probs`) against that file without needing Python.

Run: bash tools/setup_venv.sh && tools/.venv/bin/python tools/melody_reference.py \
        --model web/models/melody-lstm.safetensors --out crates/melody/tests/golden/lstm_probs.json
"""

import argparse
import hashlib
import json

import numpy as np
from safetensors import safe_open

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


def probabilities(weights, tokens):
    layers = 2
    hidden = weights["lstm.weight_hh_l0"].shape[1]
    h = [np.zeros(hidden) for _ in range(layers)]
    c = [np.zeros(hidden) for _ in range(layers)]
    out = []
    for t in tokens:
        x = weights["embedding.weight"][t]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    weights, metadata = load(args.model)
    with open(args.model, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    cases = [{"tokens": seq, "probs": probabilities(weights, seq)} for seq in SEQUENCES]
    golden = {"model": args.model, "sha256": digest, "model_bytes": len(open(args.model, "rb").read()),
              "metadata": metadata, "format_version": metadata.get("format_version"),
              "implementation": "NumPy float64 (tools/melody_reference.py)", "cases": cases}
    with open(args.out, "w") as f:
        json.dump(golden, f)
    print(f"wrote {args.out}: {len(cases)} sequences, model sha256 {digest[:12]}")


if __name__ == "__main__":
    main()
