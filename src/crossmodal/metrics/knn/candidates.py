"""Candidates within a tile: threshold filters over block maxima of runs of scores (``_CHUNK``
columns of a row, ``_COL_RUN`` rows of a column), the seeding of each row's list from a
diagonal tile, and the folding of candidates into the rows' running top-k' lists."""

from __future__ import annotations

import numpy as np
import torch

from crossmodal.metrics.knn.checks import _NEG_INF


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


def _fold_numpy(
    best_v: np.ndarray, best_i: np.ndarray, row0: int, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray
) -> None:
    """``_fold`` on CPU: only the rows that got candidates are touched, and numpy sorts the
    short rows (torch.topk costs about a millisecond per call on CPU whatever its size)."""
    kk = best_v.shape[1]
    first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # rows are grouped
    counts = np.diff(np.r_[first, len(rows)])
    hit = row0 + rows[first]
    group = np.repeat(np.arange(len(first)), counts)
    slot = kk + np.arange(len(rows)) - first[group]
    D_v = np.full((len(first), kk + int(counts.max())), _NEG_INF, dtype=best_v.dtype)
    D_i = np.full(D_v.shape, -1, dtype=np.int64)
    D_v[:, :kk], D_i[:, :kk] = best_v[hit], best_i[hit]
    D_v[group, slot], D_i[group, slot] = vals, cols
    # Equal float32 scores may come in either order: the exact pass orders them.
    top = np.argsort(-D_v, axis=1)[:, :kk]  # SIMD sort; a stable one costs 3-5x
    best_v[hit] = np.take_along_axis(D_v, top, axis=1)
    best_i[hit] = np.take_along_axis(D_i, top, axis=1)


def _fold_any(
    best_v: torch.Tensor, best_i: torch.Tensor, row0: int, rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor
) -> None:
    """``_fold``, in numpy on CPU (same lists up to the order of equal float32 scores)."""
    if best_v.device.type == "cpu":
        _fold_numpy(best_v.numpy(), best_i.numpy(), row0, rows.numpy(), cols.numpy(), vals.numpy())
    else:
        _fold(best_v, best_i, row0, rows, cols, vals)


_CHUNK = 32  # scores per block maximum in the filter


def _flat_nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Ascending flat indices of the True entries (int64).

    On CPU numpy's nonzero is several times faster than torch's at one thread (and torch's
    stalls badly with two threads on a busy machine); the tensor shares numpy's memory.
    """
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return torch.nonzero(mask.reshape(-1)).squeeze(1)


def _row_run_max(S: torch.Tensor) -> torch.Tensor:
    """(m, w / _CHUNK): the maximum of each run of _CHUNK columns in each row."""
    return S.view(S.shape[0], -1, _CHUNK).amax(dim=2)


_COL_RUN = 8  # rows per block maximum down a column: a run is gathered as 8 cache lines


def _col_run_max(S: torch.Tensor) -> torch.Tensor:
    """(m / _COL_RUN, w): the maximum of each run of _COL_RUN rows in each column."""
    return S.unflatten(0, (-1, _COL_RUN)).amax(dim=1)


def _filter_rows(
    S: torch.Tensor, tau: torch.Tensor, run_max: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(row, col, score) of entries of S above their row's threshold, rows ascending.

    Block maxima over runs of _CHUNK columns (``_row_run_max``, computed here unless given)
    are compared first, so the exact compare and nonzero touch only the few runs that can
    hold a candidate. Runs are gathered by flat index (index_select copies whole rows of
    32; advanced indexing with two index tensors is ~10x slower on CPU).
    """
    m, w = S.shape
    nb = w // _CHUNK
    run_max = _row_run_max(S) if run_max is None else run_max
    hit = _flat_nonzero(run_max > tau[:, None])  # run ids r * nb + ch
    r = torch.div(hit, nb, rounding_mode="floor")
    sub = S.view(m * nb, _CHUNK).index_select(0, hit)  # (q, _CHUNK)
    flat = _flat_nonzero(sub > tau.index_select(0, r)[:, None])
    q = torch.div(flat, _CHUNK, rounding_mode="floor")
    cols = (hit.index_select(0, q) - r.index_select(0, q) * nb) * _CHUNK + (flat - q * _CHUNK)
    return r.index_select(0, q), cols, sub.view(-1).index_select(0, flat)


def _filter_cols(
    S: torch.Tensor, tau: torch.Tensor, run_max: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(col, row, score) of entries of S above their column's threshold, cols ascending;
    ``run_max``: ``_col_run_max(S)``, computed here unless given."""
    m, w = S.shape
    runs = S.unflatten(0, (m // _COL_RUN, _COL_RUN))
    run_max = _col_run_max(S) if run_max is None else run_max
    hit = _flat_nonzero(run_max > tau[None, :])  # ch * w + c
    ch = torch.div(hit, w, rounding_mode="floor")
    c = hit - ch * w
    # (q, _COL_RUN), strided (a cache line per score), but only the few runs that can hold
    # one; numpy's mixed advanced indexing is ~3x faster than torch's on CPU.
    if S.device.type == "cpu":
        sub = torch.from_numpy(runs.numpy()[ch.numpy(), :, c.numpy()])
    else:
        sub = runs[ch, :, c]
    flat = _flat_nonzero(sub > tau.index_select(0, c)[:, None])
    q = torch.div(flat, _COL_RUN, rounding_mode="floor")
    cols, rows = c.index_select(0, q), ch.index_select(0, q) * _COL_RUN + (flat - q * _COL_RUN)
    vals = sub.view(-1).index_select(0, flat)
    # Group by column, rows ascending within (they are ascending per column already).
    if S.device.type == "cpu":
        order = torch.from_numpy(np.argsort(cols.numpy(), kind="stable"))
    else:  # the int32 keys are unique, so an unstable sort is deterministic
        order = torch.sort((cols * m + rows).to(torch.int32)).indices
    return cols.index_select(0, order), rows.index_select(0, order), vals.index_select(0, order)


def _seed_from_diagonal(
    S: torch.Tensor, run_max: torch.Tensor, best_v: torch.Tensor, best_i: torch.Tensor, row0: int, col0: int, kk: int
) -> None:
    """Exact float32 top-kk of the rows of S (rows row0.., columns col0.., self already -inf)
    into their (empty) lists.

    Every score at or above the kk-th largest maximum of the 32-score runs is a candidate:
    kk runs reach that value, so the kk best scores are all among them. A top-k over the
    whole tile costs ~10x more on CPU.
    """
    m, w = S.shape
    nb = w // _CHUNK
    if nb < kk:  # too few runs for the bound: plain top-k
        v, i = torch.topk(S, kk, dim=1)
        best_v[row0 : row0 + m] = v
        best_i[row0 : row0 + m] = torch.where(torch.isinf(v), torch.full_like(i, -1), i + col0)
        return
    if S.device.type == "cpu":
        kth = torch.from_numpy(np.partition(run_max.numpy(), nb - kk, axis=1)[:, nb - kk].copy())
    else:
        kth = torch.kthvalue(run_max, nb - kk + 1, dim=1).values
    below = torch.nextafter(kth, torch.full_like(kth, _NEG_INF))  # the filter keeps > below
    r, c, v = _filter_rows(S, below, run_max)
    if len(r):
        _fold_any(best_v, best_i, row0, r, c + col0, v)
