"""Retrieval with plain cosine and CSLS, exactly: the ranks of the true partners and the hubness
(:func:`cross_stats`, in blocks of query rows, memory O(block x N), never N x N), and class-based
mAP and R@K of feature sets (:func:`retrieval_map`, :func:`recall_at_k`). The only measures module
that needs torch (its GEMMs); the formulas it shares with the others live in
``crossmodal.measures.ranks``.

Definitions (paired rows: query f_i, gallery all of Y, correct answer y_i):

* score ``s_ij = sum(f̂_i * ŷ_j)`` in float64 with ``v̂ = v / sqrt(sum(v * v))``;
* rank of the true item: ``1 + #{j : s_ij > s_ii}`` (strictly higher; equal scores, e.g. a
  duplicate of y_i, do not push it down);
* CSLS (``ranks.csls``): ``c_ij = 2 s_ij - r_Y(f_i) - r_F(y_j)``, where ``r_Y(f_i)`` is the
  mean score of f_i with its ``csls_k`` nearest y and ``r_F(y_j)`` the mean score of y_j with its
  ``csls_k`` nearest f; rank ``1 + #{j : c_ij > c_ii}``;
* hubness (scikit-hubness): ``N_k(y_j)`` = number of f_i that have y_j among their ``hub_k``
  nearest Y (by s, ties to the lower index of y); its skewness (``scipy.stats.skew``,
  defaults) and the share of y with ``N_k = 0`` (anti-hubs): ``ranks.hubness``.

How: a float32 GEMM per block of query rows gives every score to within a proven bound ``eps``
(the bound of ``crossmodal.metrics.knn`` for unit rows rounded to float32). Comparisons that
the float32 scores decide with a margin above that bound are taken as they are; the few pairs
inside the band are rescored in float64, so ranks, top-k lists and N_k equal the float64
definitions above, ties included. Pass 1 keeps each row's and each column's top candidates
(the column lists are folded in with the same threshold filter ``knn_indices`` uses) and
counts the plain ranks; pass 2 counts the CSLS ranks, which need r_F of every y first.

mAP and R@K of feature sets (``retrieval_map``, ``recall_at_k``, also the CSLS mAP of
Tables 13/14) rank the whole gallery by float64 GEMM scores
(``ranks.gallery_order``: cosine ``q̂ · d̂``, or minus the squared euclidean distance
``|q|² + |d|² − 2 q·d``; ties to the lower index, exact duplicates tie exactly).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from crossmodal.devices import resolve_device
from crossmodal.measures.ranks import (
    LabelSets,
    average_precisions,
    csls,
    duplicate_representative,
    gallery_order,
    label_membership,
    label_sets,
    mean_reciprocal_rank,
)
from crossmodal.metrics.knn import Canonical, check_features, check_metric, cosine_normalise
from crossmodal.metrics.knn.candidates import _CHUNK, _filter_cols, _fold
from crossmodal.metrics.knn.checks import _validated_input
from crossmodal.metrics.knn.operands import _cosine_operands

_NEG_INF = float("-inf")
_MARGIN = 4  # extra candidates per row/column; a speed knob only


@dataclass(frozen=True)
class CrossStats:
    """Per item i of one evaluation set (f_i, y_i)."""

    rank_nn: np.ndarray  # int64: rank of y_i for query f_i, plain cosine
    rank_csls: np.ndarray  # int64: the same under CSLS
    n_k: np.ndarray  # int64: N_k(y_i)
    r_y: np.ndarray  # float64: r_Y(f_i)
    r_f: np.ndarray  # float64: r_F(y_i)
    hub_k: int
    csls_k: int


def pair_scores(cf: Canonical, cy: Canonical, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Canonical float64 score s of each pair (f_rows[t], y_cols[t])."""
    out = np.empty(len(rows), dtype=np.float64)
    step = max(1, (1 << 20) // cf.X.shape[1])
    for s in range(0, len(rows), step):
        out[s : s + step] = (cf.rows(rows[s : s + step]) * cy.rows(cols[s : s + step])).sum(axis=1)
    return out


def _down(x: np.ndarray) -> np.ndarray:
    """float64 -> float32, rounded towards -inf (a lower bound stays a lower bound)."""
    f = x.astype(np.float32)
    return np.where(f.astype(np.float64) > x, np.nextafter(f, np.float32(-np.inf)), f)


def _up(x: np.ndarray) -> np.ndarray:
    f = x.astype(np.float32)
    return np.where(f.astype(np.float64) < x, np.nextafter(f, np.float32(np.inf)), f)


def _count_band(S: torch.Tensor, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: #(S > hi) and #(lo <= S <= hi)."""
    if S.device.type == "cpu":
        Sn = S.numpy()
        above = np.count_nonzero(Sn > hi[:, None], axis=1)
        at_least = np.count_nonzero(Sn >= lo[:, None], axis=1)
    else:
        h = torch.as_tensor(hi, device=S.device)[:, None]
        lw = torch.as_tensor(lo, device=S.device)[:, None]
        above = (S > h).sum(dim=1).cpu().numpy()
        at_least = (S >= lw).sum(dim=1).cpu().numpy()
    return above.astype(np.int64), (at_least - above).astype(np.int64)


def _band_members(S: torch.Tensor, row: int, lo: np.float32, hi: np.float32) -> np.ndarray:
    s = S[row]
    return torch.nonzero((s >= float(lo)) & (s <= float(hi))).flatten().cpu().numpy()


def _band_rows(S: torch.Tensor, s: int, m: int, in_band: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Rows of block ``s`` with a pair other than (i, i) inside the float64 re-check band.
    The own pair lies in the band by the error bound; checked, not assumed."""
    own = S[torch.arange(m), torch.arange(s, s + m)].cpu().numpy()
    own_in = (own >= lo[s : s + m]) & (own <= hi[s : s + m])
    return np.flatnonzero(in_band > own_in.astype(np.int64))


def _exact_top(
    vals32: np.ndarray,
    idx: np.ndarray,
    k: int,
    eps: float,
    score64: Callable[[np.ndarray, np.ndarray], np.ndarray],
    full_row: Callable[[int], np.ndarray],
    n_other: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (indices and float64 scores, best first, ties to the lower index) of every
    row from its float32 top candidates (scores descending).

    A row is settled when its candidate list holds every point that could belong to the top
    k: the float32 k-th best exceeds the last candidate by more than 2 eps (or the list holds
    every point). Its candidates are rescored in float64 and sorted. Other rows are scored in
    full and every point within 2 eps of the float32 k-th best is rescored.
    """
    n, kk = vals32.shape
    vals = vals32.astype(np.float64)
    rows = np.repeat(np.arange(n), kk)
    s64 = score64(rows, idx.ravel()).reshape(n, kk)
    order = np.lexsort((idx, -s64), axis=-1)[:, :k]
    top_i = np.take_along_axis(idx, order, axis=1)
    top_s = np.take_along_axis(s64, order, axis=1)
    if kk < n_other:
        for r in np.flatnonzero(vals[:, k - 1] - vals[:, kk - 1] <= 2.0 * eps):
            full = full_row(int(r))  # float32 scores of row r against every point
            low = _down(np.array([vals[r, k - 1] - 2.0 * eps]))[0]
            cand = np.flatnonzero(full >= low)
            sc = score64(np.full(len(cand), r), cand)
            o = np.lexsort((cand, -sc))[:k]
            top_i[r], top_s[r] = cand[o], sc[o]
    return top_i, top_s


def cross_stats(
    F: object,
    Y: object,
    hub_k: int = 10,
    csls_k: int = 10,
    *,
    block: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    names: tuple[str, str] = ("F", "Y"),
) -> CrossStats:
    """Ranks (plain and CSLS), N_k and r values of one paired set; see the module docstring.

    ``hub_k`` and ``csls_k`` are capped at the number of items. ``block``: query rows per
    GEMM (default: about 128 MB of float32 scores). Raises ValueError for shapes that do not
    pair, NaN/Inf, or zero vectors (cosine is undefined for them).
    """
    from tqdm.auto import tqdm

    Fv, Yv = _validated_input(F, names[0]), _validated_input(Y, names[1])
    n, d = Fv.shape
    if Yv.shape != (n, d):
        raise ValueError(f"{names[0]} {Fv.shape} and {names[1]} {Yv.shape} must have the same shape")
    hub_k, csls_k = min(int(hub_k), n), min(int(csls_k), n)
    k_row = max(hub_k, csls_k)
    cf, af, eps_rows = _cosine_operands(Fv, names[0])
    cy, ay, _ = _cosine_operands(Yv, names[1])
    eps = float(eps_rows[0])
    dev = resolve_device(device)
    n_cols = math.ceil(n / _CHUNK) * _CHUNK
    if block is None:
        block = max(_CHUNK, min(4096, (1 << 25) // n_cols) // _CHUNK * _CHUNK)
    block = max(_CHUNK, int(block) // _CHUNK * _CHUNK)

    all_rows = np.arange(n)
    s_ii = pair_scores(cf, cy, all_rows, all_rows)
    kk = min(k_row + _MARGIN, n)
    row_v = np.empty((n, kk), dtype=np.float32)
    row_i = np.empty((n, kk), dtype=np.int64)
    above = np.empty(n, dtype=np.int64)
    band_rows: list[tuple[int, np.ndarray]] = []
    lo_nn, hi_nn = _down(s_ii - eps), _up(s_ii + eps)

    with torch.inference_mode():
        At, Bt = torch.from_numpy(af).to(dev), torch.from_numpy(ay).to(dev)
        # Zero-padded copies: every block is one GEMM into one reused buffer.
        A_pad = torch.zeros((math.ceil(n / block) * block, d), device=dev)
        A_pad[:n] = At
        B_pad = torch.zeros((n_cols, d), device=dev)
        B_pad[:n] = Bt
        buf = torch.empty((block, n_cols), device=dev)

        def scores(s: int, m: int) -> torch.Tensor:
            """(block, n_cols) float32 scores of f[s:s+m] against every y; padding -inf."""
            torch.mm(A_pad[s : s + block], B_pad.T, out=buf)
            buf[:, n:] = _NEG_INF
            buf[m:] = _NEG_INF
            return buf

        col_v = torch.full((n_cols, kk), _NEG_INF, device=dev)
        col_i = torch.full((n_cols, kk), -1, dtype=torch.int64, device=dev)
        starts = range(0, n, block)
        bar = tqdm(total=2 * len(starts), desc="retrieval blocks", unit="block", disable=not progress, leave=False)
        # Pass 1: row candidates, column candidates, plain ranks.
        for s in starts:
            m = min(block, n - s)
            S = scores(s, m)
            v, i = torch.topk(S[:m, :n], kk, dim=1)
            row_v[s : s + m], row_i[s : s + m] = v.cpu().numpy(), i.cpu().numpy()
            if s == 0:  # the first block seeds the column lists (a filter at -inf would keep all)
                t = min(kk, m)
                cv0, ci0 = torch.topk(S[:m], t, dim=0)
                col_v[:, :t], col_i[:, :t] = cv0.T, ci0.T
            else:
                c, r, val = _filter_cols(S, col_v[:, -1])
                if len(c):
                    _fold(col_v, col_i, 0, c, r + s, val)
            a, b = _count_band(S[:m], lo_nn[s : s + m], hi_nn[s : s + m])
            above[s : s + m] = a
            for r_loc in _band_rows(S, s, m, b, lo_nn, hi_nn):
                band_rows.append((s + r_loc, _band_members(S, r_loc, lo_nn[s + r_loc], hi_nn[s + r_loc])))
            bar.update(1)
        cv, ci = col_v[:n].cpu().numpy(), col_i[:n].cpu().numpy()

        def full_f(r: int) -> np.ndarray:
            return (At[r : r + 1] @ Bt.T).flatten().cpu().numpy()

        def full_y(c: int) -> np.ndarray:
            return (Bt[c : c + 1] @ At.T).flatten().cpu().numpy()

        top_i, top_s = _exact_top(row_v, row_i, k_row, eps, lambda r, c: pair_scores(cf, cy, r, c), full_f, n)
        _, col_s = _exact_top(cv, ci, csls_k, eps, lambda c, r: pair_scores(cf, cy, r, c), full_y, n)
        rank_nn = 1 + above
        for r, members in band_rows:
            members = members[members != r]
            rank_nn[r] += int((pair_scores(cf, cy, np.full(len(members), r), members) > s_ii[r]).sum())
        r_y = top_s[:, :csls_k].mean(axis=1)
        r_f = col_s.mean(axis=1)
        n_k = np.bincount(top_i[:, :hub_k].ravel(), minlength=n).astype(np.int64)

        # Pass 2: CSLS ranks. C_ij = 2 s_ij - r_F(y_j) (float32) against t_i = c_ii + r_Y(f_i).
        c_ii = csls(s_ii, r_y, r_f)
        t = c_ii + r_y
        eps_c = 2.0 * eps + 2.0**-21  # 2 eps from s, r_F rounded to float32, the subtraction
        lo_c, hi_c = _down(t - eps_c), _up(t + eps_c)
        rf_pad = torch.full((n_cols,), 0.0, device=dev)
        rf_pad[:n] = torch.from_numpy(r_f.astype(np.float32)).to(dev)
        rank_csls = np.empty(n, dtype=np.int64)
        for s in starts:
            m = min(block, n - s)
            S = scores(s, m)
            S.mul_(2.0).sub_(rf_pad)
            a, b = _count_band(S[:m], lo_c[s : s + m], hi_c[s : s + m])
            rank_csls[s : s + m] = 1 + a
            for r_loc in _band_rows(S, s, m, b, lo_c, hi_c):
                r = s + r_loc
                members = _band_members(S, r_loc, lo_c[r], hi_c[r])
                members = members[members != r]
                c_ij = csls(pair_scores(cf, cy, np.full(len(members), r), members), r_y[r], r_f[members])
                rank_csls[r] += int((c_ij > c_ii[r]).sum())
            bar.update(1)
        bar.close()
    return CrossStats(rank_nn, rank_csls, n_k, r_y, r_f, hub_k, csls_k)


# ------------------------------------------------------------------ whole-gallery retrieval of feature sets


def _unit(A: object, name: str) -> np.ndarray:
    return cosine_normalise(np.asarray(A, dtype=np.float64), name)


def cosine_scores(Q: object, G: object, names: tuple[str, str] = ("queries", "gallery")) -> np.ndarray:
    """(Q, G) float64 cosine similarities of unit rows, one float64 GEMM."""
    return _unit(Q, names[0]) @ _unit(G, names[1]).T


def _block_scores(Q: np.ndarray, D: np.ndarray, metric: str) -> Callable[[int, int], np.ndarray]:
    """Scores of query rows s:e against the database (higher = nearer): cosine of unit rows, or
    minus the squared euclidean distance |q|² + |d|² − 2 q·d."""
    if metric == "cosine":
        Qn, Dn = _unit(Q, "queries"), _unit(D, "database")
        return lambda s, e: Qn[s:e] @ Dn.T
    d2 = (D * D).sum(1)[None, :]
    return lambda s, e: -((Q[s:e] * Q[s:e]).sum(1)[:, None] + d2 - 2.0 * Q[s:e] @ D.T)


def _same_space(Q: np.ndarray, D: np.ndarray, metric: str) -> None:
    if Q.shape[1] != D.shape[1]:
        raise ValueError(f"queries and database must share a space, got dims {Q.shape[1]} and {D.shape[1]}")
    check_metric(metric)


def retrieval_map(
    queries: object,
    database: object,
    query_labels: LabelSets,
    database_labels: LabelSets | None = None,
    metric: str = "cosine",
    block: int = 1024,
    exclude_self: bool = False,
) -> float:
    """Mean average precision over queries, relevance = sharing at least one label.

    Labels per item are an int or a collection of ints (IAPR's label-id lists).
    ``database_labels`` defaults to ``query_labels`` (paired cross-modal sets). AP is over
    the full ranking (``ranks.gallery_order``); queries with no relevant item are skipped.

    ``exclude_self=True`` (within-set retrieval, queries and database the same rows): database
    item i is removed from query i's ranking, so AP is over the other N - 1 items (the
    leave-query-out protocol, in one vectorised pass). Needs as many queries as database items.
    """
    Q, D = check_features(queries, "queries"), check_features(database, "database")
    _same_space(Q, D, metric)
    if exclude_self and Q.shape[0] != D.shape[0]:
        raise ValueError(f"exclude_self needs the queries to be the database rows, got {Q.shape[0]} queries "
                         f"and {D.shape[0]} database items")
    sets_q = label_sets(query_labels, Q.shape[0], "query_labels")
    sets_d = sets_q if database_labels is None else label_sets(database_labels, D.shape[0], "database_labels")
    Lq, Ld = label_membership(sets_q, sets_d)
    rep = duplicate_representative(D)
    scores = _block_scores(Q, D, metric)
    aps: list[np.ndarray] = []
    for s in range(0, Q.shape[0], block):
        e = min(s + block, Q.shape[0])
        own = np.arange(s, e) if exclude_self else None
        aps.append(average_precisions(scores(s, e), Lq[s:e] @ Ld.T > 0, rep, own))
    all_ap = np.concatenate(aps)
    if len(all_ap) == 0:
        raise ValueError("no query has a relevant database item")
    return float(all_ap.mean())


def recall_at_k(queries: object, database: object, k: int = 10, metric: str = "cosine", block: int = 1024) -> float:
    """Fraction of queries i whose paired item i is among the first k of the gallery ordering
    (``ranks.gallery_order``: ties to the lower index, so a tie can push item i out)."""
    Q, D = check_features(queries, "queries"), check_features(database, "database")
    if Q.shape[0] != D.shape[0]:
        raise ValueError(f"queries and database must have the same number of rows (paired), "
                         f"got {Q.shape[0]} and {D.shape[0]}")
    _same_space(Q, D, metric)
    if not 1 <= k <= D.shape[0]:
        raise ValueError(f"k={k} must be within 1..N for N={D.shape[0]}")
    rep = duplicate_representative(D)
    scores = _block_scores(Q, D, metric)
    hits = 0
    for s in range(0, Q.shape[0], block):
        e = min(s + block, Q.shape[0])
        top = gallery_order(scores(s, e), rep)[:, :k]
        hits += int((top == np.arange(s, e)[:, None]).any(axis=1).sum())
    return hits / Q.shape[0]


def paired_mrr(A: object, B: object, device: str | torch.device | None = "cpu") -> float:
    """Mean reciprocal rank of the true partner (cosine, exact ranks of :func:`cross_stats`),
    A -> B and B -> A averaged."""
    forward = cross_stats(A, B, 1, 1, device=device, names=("queries", "gallery")).rank_nn
    backward = cross_stats(B, A, 1, 1, device=device, names=("queries", "gallery")).rank_nn
    return 0.5 * (mean_reciprocal_rank(forward) + mean_reciprocal_rank(backward))
