"""The exact top-k from each row's float32 candidates: grid cells for the near-tie runs, and
the full fallback for rows whose candidates end inside one.

Why it is still exact: every float32 score is within a proven bound ``eps`` of the exact
value (GEMM rounding, gamma_d, plus the rounding of the inputs, or the int8 slices' residuals;
widened by one grid cell),
so two candidates whose float32 scores differ by more than 2 eps lie in different cells, in
that order. Each row's candidate list is split at those wide gaps into runs; only runs of two
or more candidates get float64 distances and are ordered by (cell, index). If the run holding
the k-th candidate reaches the end of the list, a point outside it could still tie, so that
row is scored against all points and every point within 2 eps is re-ranked. The result does
not depend on the thread count, the device, the BLAS, the tile size or the margin.
"""

from __future__ import annotations

import numpy as np
import torch

from crossmodal.metrics.knn.checks import _NEG_INF
from crossmodal.metrics.knn.grid import Canonical, pair_cells
from crossmodal.metrics.knn.operands import _Scorer


def _fallback_rows(
    scores_of: _Scorer, dev: torch.device, canon: Canonical, rows: np.ndarray, eps: np.ndarray, k: int
) -> np.ndarray:
    """Rows whose candidates end inside a near-tie run: score them against all points and
    re-rank by (cell, index) every point within 2 eps of the k-th float32 score."""
    n = canon.X.shape[0]
    out = np.empty((len(rows), k), dtype=np.int64)
    step = max(1, (1 << 24) // n)
    for s in range(0, len(rows), step):
        rr = rows[s : s + step]
        rr_t = torch.as_tensor(rr, device=dev)
        S = torch.empty((len(rr), n), device=dev)
        scores_of(rr_t, slice(0, n), S)
        S[torch.arange(len(rr), device=S.device), rr_t] = _NEG_INF
        kth = torch.topk(S, k, dim=1).values[:, -1].double()
        low = (kth - 2.0 * torch.as_tensor(eps[rr], device=S.device)).float()
        low = torch.nextafter(low, torch.full_like(low, _NEG_INF))  # round the bound outwards
        r, c = (t.cpu().numpy() for t in torch.nonzero(S >= low[:, None], as_tuple=True))
        counts = np.bincount(r, minlength=len(rr))
        slot = np.arange(len(r)) - (np.cumsum(counts) - counts)[r]
        cand = np.full((len(rr), int(counts.max())), n, dtype=np.int64)  # padding sorts last
        cand[r, slot] = c
        cell = np.full(cand.shape, np.iinfo(np.int64).max)
        cell[r, slot] = pair_cells(canon, rr[r], c, r)
        order = np.lexsort((cand, cell), axis=-1)[:, :k]
        out[s : s + step] = np.take_along_axis(cand, order, axis=1)
    return out


def _exact_from_candidates(
    vals32: np.ndarray,
    idx: np.ndarray,
    eps: np.ndarray,
    k: int,
    canon: Canonical,
    scores_of: _Scorer,
    dev: torch.device,
) -> np.ndarray:
    """Exact top-k from each row's float32 top-k' (scores descending).

    Every float32 score is within eps of the exact one (eps includes a grid cell), so two
    candidates whose float32 scores differ by more than 2 eps lie in different cells, in
    that order. Split each row's candidate list at those wide gaps into runs; only runs of
    two or more need their cells, and the run holding the k-th candidate must end before
    the list does (else a point outside the list could tie with it: such rows go to the
    full fallback).
    """
    n, kk = vals32.shape
    vals = vals32.astype(np.float64)
    wide = vals[:, :-1] - vals[:, 1:] > 2.0 * eps[:, None]  # (n, kk-1): gap after position m
    top = min(k, kk - 1)
    result = idx[:, :k].copy()
    todo = np.flatnonzero(~wide[:, :top].all(axis=1)) if top else np.arange(0)
    if kk == n - 1:  # every other point is a candidate: nothing lies outside the list
        covered = np.ones(len(todo), dtype=bool)
    else:
        covered = wide[todo, k - 1 :].any(axis=1)
    ok = todo[covered]
    if len(ok):
        w = wide[ok]
        run = np.concatenate([np.zeros((len(ok), 1), np.int64), np.cumsum(w, axis=1)], axis=1)  # run id
        # Positions after the run that holds the k-th candidate cannot enter the top k.
        last = run[:, k - 1 : k]
        relevant = run <= last
        shared = np.zeros((len(ok), kk), dtype=bool)
        shared[:, 1:] |= ~w
        shared[:, :-1] |= ~w
        need = shared & relevant  # members of multi-point runs
        r_need, c_need = np.nonzero(need)
        cell = np.zeros((len(ok), kk), dtype=np.int64)
        groups = r_need * kk + run[r_need, c_need]  # one row's run: the pairs ever compared
        cell[r_need, c_need] = pair_cells(canon, ok[r_need], idx[ok][r_need, c_need], groups)
        run_key = np.where(relevant, run, np.iinfo(np.int64).max)
        cand = idx[ok]
        order = np.lexsort((cand, cell, run_key), axis=-1)[:, :k]
        result[ok] = np.take_along_axis(cand, order, axis=1)
    bad = todo[~covered]
    if len(bad):
        result[bad] = _fallback_rows(scores_of, dev, canon, bad, eps, k)
    return result
