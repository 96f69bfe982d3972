"""The training engine's RMSprop step against torch.optim.RMSprop, on the mirror run's stacks.

For each stack shape of the mirror run (runs x layers of one setting), it times one
``crossmodal.mappings.batched.rmsprop_step`` over the whole stack and, as the named baseline,
torch.optim.RMSprop (``foreach=False``, one optimizer per run: what a run trained alone
uses), on the same parameters, gradients and state. It checks after the timed steps that both
hold the same bits, and prints nanoseconds per parameter update and the ratio ours / baseline.

Example:
  python benchmarks/bench_rmsprop.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from crossmodal.mappings.batched import rmsprop_step  # noqa: E402
from crossmodal.mappings.common import RMSPROP_EPS, RMSPROP_RHO  # noqa: E402
from crossmodal.mappings.models import layer_dims  # noqa: E402

# (label, runs per stack, kind, d_in, d_out, hidden): the mirror run's stacks.
STACKS = [
    ("Wikipedia LDA-10 -> SIFT lin", 5, "lin", 10, 128, None),
    ("Wikipedia SIFT -> tf-idf lin", 5, "lin", 128, 1000, None),
    ("Wikipedia SIFT -> biGRU nn-5", 5, "nn-5", 128, 64, 256),
    ("IAPR VGG-128 -> biGRU nn-3", 5, "nn-3", 128, 64, 512),
    ("ImageNet-1k concepts GloVe -> EffNet nn-5", 1, "nn-5", 50, 1280, 1024),
]


def stack(runs: int, kind: str, d_in: int, d_out: int, hidden: int | None, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = [s for a, b in layer_dims(kind, d_in, d_out, hidden) for s in ((b, a), (b,))]
    return [torch.randn(runs, *s, generator=g) for s in shapes]


def seconds_per_step(step, reps: int) -> float:
    step()
    start = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - start) / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=float, default=2e8, help="parameter updates timed per stack and side")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lr = 1e-3
    print(f"{'stack':44s} {'params':>9s} {'ours ns':>8s} {'torch ns':>9s} {'ratio':>6s}  bits")
    for label, runs, kind, d_in, d_out, hidden in STACKS:
        ours, grads = stack(runs, kind, d_in, d_out, hidden, 0), stack(runs, kind, d_in, d_out, hidden, 1)
        sq = [torch.zeros_like(p) for p in ours]
        refs = [[p[m].clone().requires_grad_() for p in ours] for m in range(runs)]
        for m in range(runs):
            for r, gr in zip(refs[m], grads):
                r.grad = gr[m].clone()
        opts = [torch.optim.RMSprop(r, lr=lr, alpha=RMSPROP_RHO, eps=RMSPROP_EPS, foreach=False) for r in refs]
        lr_t = torch.full((runs,), lr)
        n = sum(p.numel() for p in ours)
        reps = max(5, int(args.updates // n))
        # rmsprop_step overwrites nothing it needs: the gradients are read only (see its docstring)
        t_ours = seconds_per_step(lambda: rmsprop_step(ours, grads, sq, lr_t), reps)
        t_ref = seconds_per_step(lambda: [o.step() for o in opts], reps)
        same = all(torch.equal(p[m], r.detach()) for m in range(runs) for p, r in zip(ours, refs[m]))
        print(f"{label:44s} {n:9d} {1e9 * t_ours / n:8.2f} {1e9 * t_ref / n:9.2f} {t_ours / t_ref:6.2f}  "
              f"{'equal' if same else 'DIFFER'}")


if __name__ == "__main__":
    main()
