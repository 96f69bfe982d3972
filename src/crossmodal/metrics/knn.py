"""Exact k-nearest neighbours of every point within one set of vectors (self-kNN).

Definition of the result (what the tests' float64 brute-force reference computes):

* distances are float64: cosine ``1 - sum(x̂_i * x̂_j)`` with ``x̂ = x / sqrt(sum(x * x))``;
  euclidean is ranked by the squared distance ``sum((x_i - x_j) ** 2)`` (same order as the
  distance, without a square root that could merge two distinct values);
* each row lists its k neighbours nearest first, ties broken by the lower index;
* ``include_self=False`` (default): a point is never its own neighbour;
  ``include_self=True``: the point itself is always first, followed by its k - 1 nearest
  other points under the rule above. This matches the authors' sklearn code (a point is
  among its own K) and makes duplicate rows deterministic: a duplicate of i ties with i at
  distance 0, and "self first" is the tie-break that keeps i in its own list.

How it is computed fast: a float32 GEMM over square tiles of the upper triangle only (the
self-distance matrix is symmetric, so each tile serves the rows of both its row block and
its column block), with the top-k selection fused into the tiles as a threshold filter
(only scores that beat a row's current k'-th best are kept as candidates). Every float32
score is within a proven bound ``eps`` of the exact value, so rows whose float32 top-k has
gaps wider than ``2 * eps`` are already exact; the remaining near-tie rows are re-ranked in
float64 over every candidate that could belong, and rows whose candidates do not cover the
tie band are recomputed against all points. The result therefore does not depend on the
thread count, the device or the tile size. The full N x N matrix is never held.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Literal

import numpy as np
import torch

Metric = Literal["cosine", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "euclidean")

_U32 = 2.0**-24  # unit roundoff of float32
_SAFETY = 1.25  # slack over the worst-case rounding bound
_NEG_INF = float("-inf")


# ----------------------------------------------------------------------------------- checks


def check_features(X: object, name: str = "X") -> np.ndarray:
    """``X`` as a C-contiguous float64 (N, d) matrix, or ValueError naming the problem."""
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, d) array, got shape {arr.shape}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name} has {arr.shape[0]} row(s); need at least 2")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has 0 columns")
    X64 = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~np.isfinite(X64).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} has NaN or Inf values (first bad row: {int(np.argmax(bad))})")
    return X64


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return metric


def check_k(k: object, n: int, include_self: bool) -> int:
    """K as an int within 1..N-1 (1..N with self), else ValueError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, got {k!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    limit = n if include_self else n - 1
    if k > limit:
        rule = "N with include_self=True" if include_self else "N - 1 without self"
        raise ValueError(f"k={k} is too large for N={n} points (at most {rule})")
    return k


def cosine_normalise(X64: np.ndarray, name: str = "X") -> np.ndarray:
    """Rows scaled to unit length (the canonical float64 form used for cosine)."""
    norms = np.sqrt((X64 * X64).sum(axis=1))
    zero = norms == 0
    if zero.any():
        raise ValueError(f"{name} has a zero vector (first at row {int(np.argmax(zero))}); cosine distance is undefined")
    return X64 / norms[:, None]


# ------------------------------------------------------------------------- float64 distances


def pair_distances(F64: np.ndarray, rows: np.ndarray, cols: np.ndarray, metric: str) -> np.ndarray:
    """Canonical float64 distance of each pair (rows[t], cols[t]).

    ``F64`` is the unit-normalised matrix for cosine and the raw matrix for euclidean. The
    per-pair elementwise product/difference summed along a contiguous axis gives identical
    bits for identical rows, so exact duplicates tie exactly.
    """
    out = np.empty(len(rows), dtype=np.float64)
    step = max(1, (1 << 21) // F64.shape[1])  # keep the gathered chunk in cache-sized pieces
    for s in range(0, len(rows), step):
        a = F64[rows[s : s + step]]
        b = F64[cols[s : s + step]]
        if metric == "cosine":
            out[s : s + step] = 1.0 - (a * b).sum(axis=1)
        else:
            diff = a - b
            out[s : s + step] = (diff * diff).sum(axis=1)
    return out


# ------------------------------------------------------------------------ float32 fast pass


@contextlib.contextmanager
def _full_fp32_matmul() -> Iterator[None]:
    """TF32 would void the rounding bound; force true float32 GEMMs on CUDA."""
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _score_operands(X64: np.ndarray, F64: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 (A, B, eps) with A_i . B_j = similarity score (larger = nearer) and
    |float32 score - exact score| <= eps_i for every pair (i, j)."""
    n, d = X64.shape
    if metric == "cosine":
        A = F64.astype(np.float32)
        # GEMM accumulation (gamma_d) plus rounding the unit rows to float32.
        eps = np.full(n, _SAFETY * (d + 4) * _U32)
        return A, A, eps
    # Euclidean: centre and scale (order-preserving) so scores are O(1) and cannot overflow;
    # augmented rows make the GEMM return -||x_i - x_j||^2 directly.
    Xc = X64 - X64.mean(axis=0)
    r = np.sqrt((Xc * Xc).sum(axis=1))
    scale = float(r.max()) or 1.0
    Xs = Xc / scale
    r = r / scale
    sq = (Xs * Xs).sum(axis=1)
    A = np.hstack([2.0 * Xs, -sq[:, None], -np.ones((n, 1))]).astype(np.float32)
    B = np.hstack([Xs, np.ones((n, 1)), sq[:, None]]).astype(np.float32)
    # |sum of terms| <= (|x_i| + |x_j|)^2 <= (r_i + 1)^2 after scaling; scores are in units
    # of scale^2, which is how the float64 distances are compared below.
    eps = _SAFETY * (d + 10) * _U32 * (r + 1.0) ** 2
    return A, B, eps


def _fold(
    best_v: torch.Tensor, best_i: torch.Tensor, row0: int, rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor
) -> None:
    """Fold candidates into the running top-k' of rows ``row0 + rows`` (in place).

    ``rows`` must be grouped in ascending order (as ``nonzero`` returns them), so each
    candidate's slot within its row follows from counts alone, without a sort.
    """
    kk = best_v.shape[1]
    nrows = int(rows.max()) + 1
    counts = torch.bincount(rows, minlength=nrows)
    rank = torch.arange(len(rows), device=rows.device) - (torch.cumsum(counts, 0) - counts)[rows]
    width = kk + int(counts.max())
    D_v = torch.full((nrows, width), _NEG_INF, device=vals.device)
    D_i = torch.full((nrows, width), -1, dtype=torch.int64, device=vals.device)
    D_v[:, :kk] = best_v[row0 : row0 + nrows]
    D_i[:, :kk] = best_i[row0 : row0 + nrows]
    D_v[rows, kk + rank] = vals
    D_i[rows, kk + rank] = cols
    v, j = torch.topk(D_v, kk, dim=1)
    best_v[row0 : row0 + nrows] = v
    best_i[row0 : row0 + nrows] = torch.gather(D_i, 1, j)


def _tile_view(buf: torch.Tensor, m: int, n: int) -> torch.Tensor:
    return buf.view(-1)[: m * n].view(m, n)


def _symmetric_topk(
    A: torch.Tensor, B: torch.Tensor, kk: int, tile: int, progress: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 top-kk scores (descending) and indices of every row, self excluded.

    Scores must be symmetric (A_i . B_j == A_j . B_i in exact arithmetic), so only tiles
    with column block >= row block are computed; each serves both blocks' rows.
    """
    from tqdm.auto import tqdm

    n = A.shape[0]
    dev = A.device
    best_v = torch.full((n, kk), _NEG_INF, device=dev)
    best_i = torch.full((n, kk), -1, dtype=torch.int64, device=dev)
    tile = math.ceil(n / math.ceil(n / tile))  # equal blocks: no thin last block with weak thresholds
    starts = list(range(0, n, tile))
    buf = torch.empty(tile * tile, device=dev)
    bar = tqdm(
        total=len(starts) * (len(starts) + 1) // 2, disable=not progress, desc="kNN tiles", unit="tile", leave=False
    )

    # Diagonal tiles first: an exact top-k' over the first few columns of each block seeds
    # the rows' thresholds; the rest of the block then goes through the filter below.
    seed = min(tile, max(4 * kk, 256))
    for s in starts:
        e = min(s + tile, n)
        S = _tile_view(buf, e - s, e - s)
        torch.mm(A[s:e], B[s:e].T, out=S)
        S.fill_diagonal_(_NEG_INF)
        w = min(seed, e - s)
        m = min(kk, w)
        v, i = torch.topk(S[:, :w], m, dim=1)
        best_v[s:e, :m] = v
        best_i[s:e, :m] = torch.where(torch.isinf(v), torch.full_like(i, -1), i + s)  # never self
        if w < e - s:
            rest = S[:, w:]
            r, c = torch.nonzero(rest > best_v[s:e, -1:], as_tuple=True)
            if len(r):
                _fold(best_v, best_i, s, r, c + (s + w), rest[r, c])
        bar.update(1)

    # Off-diagonal tiles: keep only scores above the row's current k'-th best (a cheap
    # compare + nonzero instead of a top-k over the whole tile), fold them in at once so the
    # thresholds tighten as the scan goes on.
    for a, s in enumerate(starts):
        e = min(s + tile, n)
        for t in starts[a + 1 :]:
            f = min(t + tile, n)
            S = _tile_view(buf, e - s, f - t)
            torch.mm(A[s:e], B[t:f].T, out=S)
            r, c = torch.nonzero(S > best_v[s:e, -1:], as_tuple=True)
            r2, c2 = torch.nonzero(S > best_v[t:f, -1][None, :], as_tuple=True)
            if len(r):
                _fold(best_v, best_i, s, r, c + t, S[r, c])
            if len(r2):
                # Group the mirror candidates by their row; the int32 keys are unique, so an
                # unstable sort is still deterministic (and int32 sorts fast).
                order = torch.sort((c2 * (e - s) + r2).to(torch.int32)).indices
                r2, c2 = r2[order], c2[order]
                _fold(best_v, best_i, t, c2, r2 + s, S[r2, c2])
            bar.update(1)
    bar.close()
    return best_v, best_i


# --------------------------------------------------------------------------- exact re-check


def _rerank_rows(
    F64: np.ndarray, rows: np.ndarray, cand: np.ndarray, k: int, metric: str
) -> np.ndarray:
    """For each row, sort its candidate columns by (float64 distance, index); first k."""
    m, c = cand.shape
    d64 = pair_distances(F64, np.repeat(rows, c), cand.reshape(-1), metric).reshape(m, c)
    order = np.lexsort((cand, d64), axis=-1)[:, :k]
    return np.take_along_axis(cand, order, axis=1)


def _fallback_rows(
    A: torch.Tensor, B: torch.Tensor, F64: np.ndarray, rows: np.ndarray, eps: np.ndarray, k: int, metric: str
) -> np.ndarray:
    """Rows whose candidates did not cover the near-tie band: score them against all
    points and re-rank every point inside the band in float64."""
    n = A.shape[0]
    out = np.empty((len(rows), k), dtype=np.int64)
    step = max(1, (1 << 24) // n)
    for s in range(0, len(rows), step):
        rr = rows[s : s + step]
        S = A[torch.as_tensor(rr, device=A.device)] @ B.T
        S[torch.arange(len(rr), device=S.device), torch.as_tensor(rr, device=S.device)] = _NEG_INF
        kth = torch.topk(S, k, dim=1).values[:, -1].cpu().numpy().astype(np.float64)
        S_np = S.cpu().numpy()
        for j, i in enumerate(rr):
            band = np.flatnonzero(S_np[j] >= kth[j] - 2.0 * eps[i])
            band = band[band != i]
            out[s + j] = _rerank_rows(F64, np.array([i]), band[None, :], k, metric)[0]
    return out


def _exact_from_candidates(
    vals: np.ndarray,
    idx: np.ndarray,
    eps: np.ndarray,
    k: int,
    F64: np.ndarray,
    A: torch.Tensor,
    B: torch.Tensor,
    metric: str,
) -> np.ndarray:
    n, kk = vals.shape
    vals = vals.astype(np.float64)
    two_eps = 2.0 * eps[:, None]
    # A row is exact as it stands when consecutive float32 scores (through the (k+1)-th) are
    # more than 2 eps apart: the exact order then cannot differ from the float32 order.
    top = min(k + 1, kk)
    clean = (vals[:, : top - 1] - vals[:, 1:top] > two_eps).all(axis=1)
    result = idx[:, :k].copy()
    unclean = np.flatnonzero(~clean)
    if len(unclean) == 0:
        return result
    # Every point whose exact score could reach the k-th lies within 2 eps of the float32
    # k-th score; the candidates cover that band when the last one is already below it.
    if kk == n - 1:
        covered = np.ones(len(unclean), dtype=bool)
    else:
        covered = vals[unclean, k - 1] - vals[unclean, kk - 1] > two_eps[unclean, 0]
    ok = unclean[covered]
    step = max(1, (1 << 20) // kk)
    for s in range(0, len(ok), step):
        rows = ok[s : s + step]
        result[rows] = _rerank_rows(F64, rows, idx[rows], k, metric)
    bad = unclean[~covered]
    if len(bad):
        result[bad] = _fallback_rows(A, B, F64, bad, eps, k, metric)
    return result


# -------------------------------------------------------------------------------- public API


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
        margin: extra candidates kept per row for the near-tie re-check (default 4 + k // 2).
        progress: show a tqdm bar (stderr) over the tiles.

    Returns:
        int64 (N, k): row i lists i's neighbours nearest first; ties go to the lower index;
        with ``include_self`` column 0 is i itself.

    Raises:
        ValueError: bad shape, NaN/Inf (first bad row named), fewer than 2 rows, k out of
        range, unknown metric, or a zero vector under cosine.
    """
    X64 = check_features(X)
    metric = check_metric(metric)
    n = X64.shape[0]
    k = check_k(k, n, include_self)
    k_other = k - 1 if include_self else k
    self_col = np.arange(n, dtype=np.int64)[:, None]
    if k_other == 0:
        return self_col
    F64 = cosine_normalise(X64) if metric == "cosine" else X64
    dev = _resolve_device(device)
    if tile is None:
        tile = 8192 if dev.type == "cuda" else 2048
    if margin is None:
        margin = 4 + k_other // 2
    kk = min(k_other + max(1, int(margin)), n - 1)

    A_np, B_np, eps = _score_operands(X64, F64, metric)
    with _full_fp32_matmul(), torch.inference_mode():
        A = torch.from_numpy(A_np).to(dev)
        B = A if B_np is A_np else torch.from_numpy(B_np).to(dev)
        vals, idx = _symmetric_topk(A, B, kk, min(max(1, int(tile)), 46340), progress)
        out = _exact_from_candidates(
            vals.cpu().numpy(), idx.cpu().numpy(), eps, k_other, F64, A, B, metric
        )
    if include_self:
        out = np.hstack([self_col, out])
    return np.ascontiguousarray(out, dtype=np.int64)
