"""PyTorch (CPU) side of the rhythm training benchmark: each architecture of model.py trained on
200 rhythms for 500 epochs in batches of 32 (velocity head on), as tidepool's bench
(crates/bench/benches/rhythm.rs) does. Prints one JSON line per architecture and thread count:

    {"rhythm_train": "model1", "framework": "pytorch", "torch": "2.15.0", "threads": 1,
     "rhythms": 200, "epochs": 500, "batch": 32, "seconds": 2.1}

`seconds` is the best of --repeat runs of the training loop alone (model built, data on the
CPU). torch.set_num_threads is set to each value of --threads (default: 1 and every core).

    python tools/rhythm/bench_torch.py [--epochs 500] [--rhythms 200] [--threads 1,2] [--repeat 3]
"""

import argparse
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import torch  # noqa: E402

import model as rhythm_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--rhythms", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--archs", default=",".join(rhythm_model.ARCHS))
    args = ap.parse_args()
    g = torch.Generator().manual_seed(1)
    # Many-hot rhythms (about a third of the steps hit) with velocities: the speed of training
    # does not depend on which rhythms they are.
    x = (torch.rand(args.rhythms, rhythm_model.STEPS, generator=g) < 0.35).float()
    vt = torch.rand(args.rhythms, rhythm_model.STEPS, generator=g) * x
    for threads in sorted({int(t) for t in args.threads.split(",")}):
        torch.set_num_threads(threads)
        for arch in args.archs.split(","):
            best = float("inf")
            for r in range(args.repeat):
                torch.manual_seed(r)
                model = rhythm_model.RhythmAutoencoder(arch, velocity_head=True)
                start = time.perf_counter()
                loss = rhythm_model.train(model, x, vt, epochs=args.epochs, batch=args.batch, seed=r)
                best = min(best, time.perf_counter() - start)
            line = {
                "rhythm_train": arch,
                "framework": "pytorch",
                "torch": torch.__version__.split("+")[0],
                "threads": threads,
                "rhythms": args.rhythms,
                "epochs": args.epochs,
                "batch": args.batch,
                "seconds": round(best, 4),
                "final_loss": round(loss, 4),
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
