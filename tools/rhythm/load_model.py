"""Loads a tidepool rhythm model file (written by `tidepool rhythm train` or the page) into the
PyTorch module of model.py with load_state_dict(strict=True), and prints decodes as JSON.

    python tools/rhythm/load_model.py MODEL.safetensors [--xy X,Y]   # one point (default 0,0)
    python tools/rhythm/load_model.py MODEL.safetensors --grid       # the 5 x 5 test grid

The `--grid` output of tools/rhythm/fixtures/rust-model3.safetensors is committed next to it;
crates/rhythm/tests/model_file.rs compares it with tidepool's own decodes.
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import model as rhythm_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--xy", default="0,0", help="latent point X,Y")
    ap.add_argument("--grid", action="store_true", help="decode the 5 x 5 test grid")
    args = ap.parse_args()
    try:
        model, meta = rhythm_model.load(args.file)
    except Exception as e:  # a clear one-line reason, not a traceback
        sys.exit(f"{args.file}: cannot load: {e}")
    if args.grid:
        points = rhythm_model.grid_points()
    else:
        try:
            x, y = (float(v) for v in args.xy.split(","))
        except ValueError:
            sys.exit(f"--xy wants X,Y, not {args.xy!r}")
        points = [[x, y]]
    import torch

    doc = {
        "arch": model.arch,
        "strict": True,
        "torch": torch.__version__,
        "metadata": meta,
        "points": rhythm_model.decode_json(model, points),
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
