"""Time feature extraction on this machine and print a small table.

* Image encoders: seconds per 100 images (decode + preprocessing + forward, batch size 32) on
  synthetic 500x375 RGB JPEG files: EfficientNet-Lite0 with its real weights; ResNet-152 and
  VGG-M-128 with RANDOM weights (timing only; their real weights are not available offline).
* biGRU: seconds per training epoch on the Wikipedia training split (2,173 texts), for the
  given ``max_len`` values (needs ../shared/data or CROSSMODAL_SHARED_DATA; skipped otherwise).

Examples:
  python benchmarks/bench_features.py                  # 100 images per encoder, 1 biGRU epoch
  python benchmarks/bench_features.py --n-images 32 --encoders efficientnet-lite0 --no-bigru
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch


def bench_images(encoders: list[str], n_images: int, batch_size: int, device: str | None) -> list[tuple[str, float, str]]:
    from PIL import Image

    from crossmodal.features.images import extract_image_features, load_encoder

    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(n_images):
            p = Path(tmp) / f"img{i}.jpg"
            Image.fromarray(rng.integers(0, 256, size=(375, 500, 3), dtype=np.uint8)).save(p, quality=90)
            paths.append(p)
        for name in encoders:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                enc = load_encoder(name, allow_random_weights=name != "efficientnet-lite0", device=device)
                extract_image_features(paths[: min(2, n_images)], enc, batch_size=batch_size, progress=False)  # warm-up
                t0 = time.perf_counter()
                res = extract_image_features(paths, enc, batch_size=batch_size, progress=False)
                dt = time.perf_counter() - t0
            rows.append((enc.name, dt * 100.0 / n_images, "random weights (timing only)" if res.random_weights else "real weights"))
    return rows


def bench_bigru(max_lens: list[int | None], epochs: int) -> list[tuple[str, float, str]]:
    from crossmodal.datasets.wikipedia_texts import load_wikipedia_texts
    from crossmodal.features.bigru import default_glove, train_bigru

    root = Path(os.environ.get("CROSSMODAL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    if not (root / "wikipedia" / "texts.tar.gz").is_file():
        return [("biGRU", float("nan"), f"skipped: no Wikipedia texts under {root}")]
    splits, _ = load_wikipedia_texts(root / "wikipedia")
    kv = default_glove()
    rows = []
    for ml in max_lens:
        enc = train_bigru(splits["train"].texts, splits["train"].labels, kv, epochs=epochs, max_len=ml, progress=False)
        rows.append((f"biGRU max_len={ml}", float(np.mean(enc.epoch_seconds)), f"s/epoch over {epochs} epoch(s), 2,173 texts"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoders", nargs="+", default=["efficientnet-lite0", "resnet152", "vgg-m-128"])
    ap.add_argument("--n-images", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default=None)
    ap.add_argument("--no-bigru", action="store_true")
    ap.add_argument("--bigru-max-len", type=int, nargs="+", default=[1000])
    ap.add_argument("--bigru-epochs", type=int, default=1)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cuda {torch.cuda.is_available()}, cpus {os.cpu_count()}")
    rows = bench_images(args.encoders, args.n_images, args.batch_size, args.device)
    print(f"\n{'encoder':<24}{'s / 100 images':>16}  weights")
    for name, s, note in rows:
        print(f"{name:<24}{s:>16.1f}  {note}")
    if not args.no_bigru:
        print(f"\n{'text encoder':<24}{'seconds':>16}  note")
        for name, s, note in bench_bigru(args.bigru_max_len, args.bigru_epochs):
            print(f"{name:<24}{s:>16.1f}  {note}")


if __name__ == "__main__":
    main()
