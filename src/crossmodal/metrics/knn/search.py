"""``knn_indices``: exact k nearest neighbours of every point within one set of vectors.

Definition of the result (what the tests' references compute):

* distances are those of the input values taken exactly (float32 inputs widen to float64
  without rounding): cosine ``1 - x_i.x_j / (|x_i| |x_j|)``; euclidean is ranked by the squared
  distance ``sum((x_i - x_j) ** 2)`` (same order as the distance);
* distances are compared on a grid, and equal grid cells are ties, broken by the lower index:
  cosine distance rounded to a multiple of ``2**-32`` (absolute, about 2.3e-10), squared
  euclidean distance rounded to 32 significant bits (relative, 2**-32 to 2**-31 of the value),
  both rounding halves upwards;
* each row lists its k neighbours nearest first by (grid cell, index);
* ``include_self=False`` (default): a point is never its own neighbour;
  ``include_self=True``: the point itself is always first, followed by its k - 1 nearest
  other points under the rule above. This matches the authors' sklearn code (a point is
  among its own K) and makes duplicate rows deterministic: a duplicate of i ties with i at
  distance 0, and "self first" is the tie-break that keeps i in its own list.

The pass: check the input (``checks``), build the tile operands and their error bounds
(``operands``, or ``int8`` for cosine on CPUs with AMX int8), take each row's float32 top-k'
candidates over tiles (``tiles``), then order them exactly (``exact``, on the grid of ``grid``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from crossmodal.devices import resolve_device
from crossmodal.metrics.knn.checks import Metric, _validated_input, check_k, check_metric
from crossmodal.metrics.knn.devices import _full_fp32_matmul, _numpy_blas
from crossmodal.metrics.knn.exact import _exact_from_candidates
from crossmodal.metrics.knn.grid import _COSINE_CELL, Canonical
from crossmodal.metrics.knn.int8 import _INT8_EPS_RATIO, _int8_cosine_operands, _int8_tiles
from crossmodal.metrics.knn.operands import (
    _Float32Scores,
    _Scorer,
    _cosine_operands,
    _euclidean_operands,
    _float32_cosine_error,
)
from crossmodal.metrics.knn.tiles import _blocking, _symmetric_topk


def _tile_operands(X: np.ndarray, metric: str, n_pad: int, dev: torch.device) -> tuple[Canonical, _Scorer, np.ndarray]:
    """Canonical form, the tile scores (operands padded with zero rows to ``n_pad``) and the
    bound eps per row on |float32 score - exact score|, widened by a grid cell so that a gap
    over 2 eps also separates cells."""
    d = X.shape[1]
    if metric == "cosine":
        if _int8_tiles(dev, d):
            canon, int8, eps = _int8_cosine_operands(X, "X", n_pad)
            # Spiky rows (one large entry) coarsen the shared scale: past twice the float32
            # bound the wider near-tie runs cost more than the int8 GEMMs save.
            if eps.max() <= _INT8_EPS_RATIO * _float32_cosine_error(d):
                return canon, int8, eps + _COSINE_CELL
        canon, A_np, eps = _cosine_operands(X, "X", n_pad)
        A = torch.from_numpy(A_np).to(dev)
        return canon, _Float32Scores(A, A, _numpy_blas(dev)), eps + _COSINE_CELL
    canon, A_np, B_np, eps = _euclidean_operands(X, "X", n_pad)
    A, B = torch.from_numpy(A_np).to(dev), torch.from_numpy(B_np).to(dev)
    return canon, _Float32Scores(A, B, _numpy_blas(dev)), eps


def knn_indices(
    X: object,
    k: int,
    metric: Metric = "cosine",
    include_self: bool = False,
    *,
    device: str | torch.device | None = None,
    tile: int | None = None,
    margin: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Exact K nearest neighbours of every row of ``X`` within ``X``.

    Args:
        X: (N, d) real matrix, N >= 2, finite; no zero rows under cosine.
        k: neighbours per point, 1 <= k <= N - 1 (<= N with ``include_self``).
        metric: ``"cosine"`` (1 - cosine similarity) or ``"euclidean"``.
        include_self: count each point as its own first neighbour (authors' code).
        device: torch device for the float32 pass; default: CUDA when present, else CPU.
        tile: tile edge in rows (memory ~ tile^2 floats, at most 46340); default 2048 (CPU),
            8192 (CUDA).
        margin: extra candidates kept per row for the near-tie re-check (default
            2 + ceil(d / 256)); a speed knob only, results do not depend on it.
        progress: show a tqdm bar (stderr) over the tiles.

    Returns:
        int64 (N, k): row i lists i's neighbours nearest first; ties (distances in the same
        2**-32 grid cell, see the module docstring) go to the lower index; with
        ``include_self`` column 0 is i itself.

    Raises:
        ValueError: bad shape, NaN/Inf (first bad row named), fewer than 2 rows, k out of
        range, unknown metric, or a zero vector under cosine.
    """
    Xv = _validated_input(X)
    metric = check_metric(metric)
    n = Xv.shape[0]
    k = check_k(k, n, include_self)
    k_other = k - 1 if include_self else k
    self_col = np.arange(n, dtype=np.int64)[:, None]
    if k_other == 0:
        _cosine_operands(Xv, "X") if metric == "cosine" else _euclidean_operands(Xv, "X")  # same checks
        return self_col
    dev = resolve_device(device)
    if tile is None:
        tile = 8192 if dev.type == "cuda" else 2048
    if margin is None:
        # More near-ties at the k-th candidate as eps grows with d; a short list sends rows
        # to the (slower, still exact) fallback, a long one costs filter work.
        margin = 2 + math.ceil(Xv.shape[1] / 256)
    kk = min(k_other + max(1, int(margin)), n - 1)

    tile = min(max(1, int(tile)), 46340)
    n_pad = _blocking(n, tile, kk)[1]  # built padded: no copy of the operands later
    with _full_fp32_matmul(), torch.inference_mode():
        canon, scores_of, eps = _tile_operands(Xv, metric, n_pad, dev)
        vals, idx = _symmetric_topk(scores_of, n, kk, tile, dev, progress)
        out = _exact_from_candidates(vals.cpu().numpy(), idx.cpu().numpy(), eps, k_other, canon, scores_of, dev)
    if include_self:
        out = np.hstack([self_col, out])
    return np.ascontiguousarray(out, dtype=np.int64)
