"""The rhythm autoencoders in PyTorch: the module whose state-dict names tidepool's model files
use (crates/rhythm/src/model_file.rs), and the same training (for the speed comparison,
bench_torch.py).

    encoder = nn.Sequential(Linear(32, h1), ReLU(), [Dropout(0.2),] ..., Linear(hk, 2))
    decoder = nn.Sequential(Linear(2, hk), ReLU(), [Dropout(0.2),] ..., Linear(h1, 32))
    velocity = nn.Linear(h1, 32)            # only with a velocity head

The decoder's last Linear gives logits; `forward` applies the sigmoid (so nn.Sequential holds
no Sigmoid module and the names stay `decoder.{i}`). The velocity head reads the decoder's last
hidden layer (`decoder[:-1]`). Model 2 has Dropout after every ReLU, which shifts the indices:
`encoder.0`, `encoder.3`, `encoder.6`.

Training as in tidepool: Glorot-uniform weights, zero biases, binary cross-entropy from the
logits (mean over steps and rhythms) + the velocity head's squared error averaged over the
batch's hits + L2 (0.01 on every weight matrix for model 2), Adam (lr 1e-3, betas 0.9/0.999,
eps 1e-7; PyTorch adds eps after the bias correction, Keras and tidepool before: a difference
in the seventh decimal), batches of 32 shuffled each epoch.
"""

import json

import torch
from torch import nn

STEPS = 32
ARCHS = {
    "prototype": [32, 16, 2],
    "model1": [32, 20, 8, 2],
    "model2": [32, 20, 8, 2],
    "model3": [32, 20, 10, 5, 2],
}
L2 = {"model2": 0.01}
DROPOUT = {"model2": 0.2}


def _half(sizes, dropout):
    layers = []
    for k, (i, o) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(i, o))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class RhythmAutoencoder(nn.Module):
    def __init__(self, arch, velocity_head=True):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown rhythm architecture {arch!r} ({', '.join(ARCHS)})")
        self.arch = arch
        sizes = ARCHS[arch]
        dropout = DROPOUT.get(arch, 0.0)
        self.encoder = _half(sizes, dropout)
        self.decoder = _half(sizes[::-1], dropout)
        self.velocity = nn.Linear(sizes[1], STEPS) if velocity_head else None
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        """Logits of the 32 steps, velocities (or None) and the latent points."""
        z = self.encoder(x)
        h = self.decoder[:-1](z)
        logits = self.decoder[-1](h)
        vel = torch.sigmoid(self.velocity(h)) if self.velocity is not None else None
        return logits, vel, z

    @torch.no_grad()
    def decode(self, xy):
        """Probabilities and velocities (a copy of the probabilities without a head) of latent
        points `xy` (n x 2), as tidepool's Decoder::decode."""
        h = self.decoder[:-1](xy)
        prob = torch.sigmoid(self.decoder[-1](h))
        vel = torch.sigmoid(self.velocity(h)) if self.velocity is not None else prob
        return prob, vel

    def loss(self, x, vt):
        logits, vel, _ = self(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, x)
        if vel is not None:
            hits = x.sum()
            if hits > 0:
                loss = loss + (((vel - vt) * x) ** 2).sum() / hits
        l2 = L2.get(self.arch, 0.0)
        if l2:
            loss = loss + l2 * sum((m.weight**2).sum() for m in self.modules() if isinstance(m, nn.Linear))
        return loss


def train(model, x, vt, epochs=500, batch=32, lr=1e-3, seed=1):
    """Trains in place; returns the last epoch's mean loss."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    model.train()
    n = x.shape[0]
    last = float("nan")
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            loss = model.loss(x[idx], vt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        last = total / n
    model.eval()
    return last


def save(model, path, **metadata):
    """A model file tidepool reads (metadata values become strings)."""
    from safetensors.torch import save_file

    meta = {
        "format": "tidepool-rhythm",
        "format_version": "1",
        "arch": model.arch,
        "velocity_head": "true" if model.velocity is not None else "false",
    }
    meta.update({k: str(v) for k, v in metadata.items()})
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path, metadata=meta)


def load(path):
    """A model from a tidepool model file, loaded with load_state_dict(strict=True)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    if "arch" not in meta:
        raise ValueError(f"{path}: the metadata has no arch")
    state = load_file(path)
    model = RhythmAutoencoder(meta["arch"], velocity_head="velocity.weight" in state)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, meta


def grid_points():
    """The latent points the decode comparisons use: a 5 x 5 grid over the pad's +-10."""
    return [[x, y] for x in (-10.0, -4.5, 0.0, 2.5, 10.0) for y in (-10.0, -1.0, 0.0, 3.5, 10.0)]


def decode_json(model, points):
    prob, vel = model.decode(torch.tensor(points, dtype=torch.float32))
    return [
        {"xy": p, "prob": [float(v) for v in prob[i]], "velocity": [float(v) for v in vel[i]]}
        for i, p in enumerate(points)
    ]


if __name__ == "__main__":
    # Writes the PyTorch-made fixture tidepool's tests read: a model 2 with a velocity head
    # trained briefly on random rhythms, and its decodes.
    import pathlib

    out = pathlib.Path(__file__).parent / "fixtures"
    out.mkdir(exist_ok=True)
    torch.manual_seed(3)
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(64, STEPS, generator=g) < 0.3).float()
    vt = torch.rand(64, STEPS, generator=g) * x
    model = RhythmAutoencoder("model2", velocity_head=True)
    loss = train(model, x, vt, epochs=30, seed=3)
    path = out / "torch-model2.safetensors"
    save(model, str(path), epochs=30, seed=3, data_count=64, final_loss=loss)
    loaded, _ = load(str(path))
    doc = {"arch": "model2", "strict": True, "torch": torch.__version__, "points": decode_json(loaded, grid_points())}
    (out / "torch-model2.torch.json").write_text(json.dumps(doc) + "\n")
    print(f"wrote {path} (final loss {loss:.4f})")
