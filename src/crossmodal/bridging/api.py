"""``crossmodal.bridge``: does a mapping f: X -> Y bridge two embedding spaces?

Protocol. With ``F`` given (F = f(X), row i mapped from x_i, in Y's space) nothing is trained
and every paired row is evaluated together. Without it, ``mapper`` is fitted by ``n_folds``-fold
cross-validation over all items (``crossmodal.mappings.kfold_indices``, seeded): each fold's
model is fitted on the other folds and predicts the fold's items, and every measure is taken on
held-out items only. As in the paper's Experiment 1, each held-out fold is its own universe:
neighbours, the retrieval gallery and N_k are computed within the fold; per-item values are
then pooled over the folds (each item is held out once). Measures: ``crossmodal.measures``
(neighbourhoods, tests, intervals; retrieval, CSLS and hubness, always cosine, whatever ``metric``
the neighbourhoods use).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from crossmodal.bridging.result import (
    BridgeResult,
    Curve,
    Hubness,
    KScores,
    PerItem,
    Retrieval,
    verdict,
)
from crossmodal.mappings.splits import kfold_indices
from crossmodal.measures import nno as M
from crossmodal.measures import significance as S
from crossmodal.measures.ranks import hubness, rank_summary
from crossmodal.measures.regression import regression_chunked
from crossmodal.metrics.knn import METRICS

CURVE_K_MAX = 100
HUB_K = 10
CSLS_K = 10
# Neighbour lists compared by each pair: x = X, y = Y, f = f(X), r = Y's role (Y, or h(Y)).
PAIRS: dict[str, tuple[str, str]] = {"x_f": ("x", "f"), "y_f": ("r", "f"), "x_y": ("x", "y")}
CI_NAMES: tuple[str, ...] = ("mnno_x_f", "mnno_y_f", "mnno_x_y", "mnno_y_f_minus_x_f")


def _as_matrix(A: object, name: str) -> np.ndarray:
    arr = A if isinstance(A, np.ndarray) else np.asarray(A)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (N, d) array, got shape {arr.shape}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected numbers, got dtype {arr.dtype}")
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)


def _check_rows(A: np.ndarray, name: str, cosine: bool) -> None:
    """NaN/Inf and (under cosine) zero rows, chunked; ValueError naming the first bad row."""
    step = max(1, (1 << 22) // max(1, A.shape[1]))
    for s in range(0, A.shape[0], step):
        chunk = np.asarray(A[s : s + step], dtype=np.float64)
        finite = np.isfinite(chunk).all(axis=1)
        if not finite.all():
            raise ValueError(f"{name}: NaN or Inf values (first bad row: {s + int(np.argmin(finite))})")
        if cosine:
            zero = ~chunk.any(axis=1)
            if zero.any():
                raise ValueError(f"{name}: zero vector (first at row {s + int(np.argmax(zero))}); "
                                 "cosine similarity is undefined for it")


def parse_ks(k: int | Sequence[int]) -> list[int]:
    """K as a list of distinct positive ints, in the order given."""
    ks = [k] if isinstance(k, (int, np.integer)) else list(k)
    if not ks:
        raise ValueError("k: give at least one K")
    out: list[int] = []
    for v in ks:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"k must be a positive integer, got {v!r}")
        if int(v) not in out:
            out.append(int(v))
    return out


def bridge(
    X: object,
    Y: object,
    F: object | None = None,
    mapper: str = "ridge",
    k: int | Sequence[int] = 10,
    *,
    metric: str = "cosine",
    include_self: bool = False,
    n_folds: int = 5,
    seed: int = 0,
    n_permutations: int = 999,
    n_bootstrap: int = 1000,
    level: float = 0.95,
    alpha: float = 0.05,
    curve: bool = False,
    mapper_options: Mapping[str, object] | None = None,
    keys: Sequence[str] | None = None,
    names: tuple[str, str, str] = ("X", "Y", "F"),
    device: str | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    context: Mapping[str, object] | None = None,
    cache: dict[object, object] | None = None,
) -> BridgeResult:
    """Measure whether f(X) takes on Y's neighbourhoods or keeps X's.

    Args:
        X, Y: paired (N, d_x) and (N, d_y) arrays (row i of X with row i of Y).
        F: f(X), (N, d_y); given, nothing is trained and all N rows are evaluated.
        mapper: without F, a registered mapping (``crossmodal mappers`` lists them). A
            shared-space mapping (``space="shared"``: the CCA family, two-tower models) maps X
            by g and Y by h into one space Z: f(X) is then g(X), and the Y side of mNNO(Y, f(X))
            and of retrieval is h(Y), the other modality as Z represents it; mNNO(X, Y) stays in
            the raw spaces.
        k: K, or a list of K (the first gives the top-level values; all are in ``by_k``).
        metric: neighbours of X, Y and F by ``cosine`` or ``euclidean`` distance.
        include_self: count each item among its own K neighbours (the paper's convention).
        n_folds, seed: the CV protocol (without F); the seed also drives permutations,
            bootstrap and the mapper's own randomness.
        n_permutations, n_bootstrap, level, alpha: the permutation null of mNNO(X,Y), the
            bootstrap intervals, their level, and the verdict's significance level.
        curve: also compute mNNO for K = 1..100 (capped at n - 1) for the figure.
        mapper_options: the mapping's parameters (its spec's ``params``), e.g.
            {"lr": 1e-3, "hidden": 256, "epochs": 50} for lin/nn, {"inner_folds": 5} for ridge.
        keys: item names (for ``per_item``); names: how messages call X, Y and F.
        progress: tqdm bars on stderr for the long steps.
        context: extra entries for ``setup`` (e.g. how the files were paired).
        cache: shared by calls on the same X, Y and protocol (``crossmodal.bridging.compare``):
            the neighbours of X and Y and the permutation null are computed once.

    Returns:
        BridgeResult (frozen); ``to_dict()`` gives the documented JSON.

    Raises:
        ValueError: one line naming the input: shapes, NaN/Inf, zero vectors under cosine,
        K >= the items of an evaluation set, unknown mapper or metric.
    """
    from crossmodal.mappers.fitting import fit_folds
    from crossmodal.mappers.registry import get

    cache = {} if cache is None else cache
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    ks = parse_ks(k)
    nx, ny, nf = names
    Xa, Ya = _as_matrix(X, nx), _as_matrix(Y, ny)
    n = Xa.shape[0]
    if Ya.shape[0] != n:
        raise ValueError(f"{nx} has {n} rows but {ny} has {Ya.shape[0]}; rows pair by order")
    if n < 3:
        raise ValueError(f"need at least 3 paired items, got {n}")
    _check_rows(Xa, nx, metric == "cosine")
    _check_rows(Ya, ny, True)  # retrieval is cosine whatever the metric
    rng = np.random.default_rng(seed)
    if F is not None:
        Fa = _as_matrix(F, nf)
        if Fa.shape[0] != n:
            raise ValueError(f"{nf} has {Fa.shape[0]} rows but {nx} has {n}; F = f(X) needs one row per item")
        if Fa.shape[1] != Ya.shape[1]:
            raise ValueError(f"{nf} has {Fa.shape[1]} columns but {ny} has {Ya.shape[1]}: F = f(X) must be in Y's space")
        _check_rows(Fa, nf, True)
        sets = [np.arange(n)]
        protocol = "given F: all paired rows evaluated, nothing trained"
        preds = [np.asarray(Fa)]
        roles: list[np.ndarray] | None = None
        mapper_details: dict[str, object] = {}
        mapper_name = space = None
    else:
        spec = get(mapper)
        if spec.needs_labels:
            raise ValueError(f"mapper {spec.name!r} needs item labels, which crossmodal bridge does not have")
        params = spec.resolve_params(mapper_options)
        if not 2 <= n_folds <= n:
            raise ValueError(f"n_folds must be within 2..N={n}, got {n_folds}")
        splits = kfold_indices(n, n_folds, seed)
        sets = [te for _, te in splits]
        _check_k(ks, min(len(s) for s in sets), include_self, f"the smallest of the {n_folds} held-out folds")
        fitted = fit_folds(spec, Xa, Ya, None, splits, params, seed, device or "cpu", progress, log)
        preds = [np.asarray(fd.map_x(Xa[te])) for fd, (_, te) in zip(fitted, splits)]
        roles = [np.asarray(fd.map_y(Ya[te])) for fd, (_, te) in zip(fitted, splits)] if spec.space == "shared" else None
        for f, p in enumerate(preds):
            _check_rows(p, f"f(X) of fold {f + 1} ({spec.name})", True)
            if roles is None and p.shape[1] != Ya.shape[1]:
                raise ValueError(f"{spec.name} gave f(X) of {p.shape[1]} columns for Y of {Ya.shape[1]}")
        for f, r in enumerate(roles or []):
            _check_rows(r, f"h(Y) of fold {f + 1} ({spec.name})", True)
        protocol = f"{n_folds}-fold CV over all items (seed {seed}); scores on held-out items, each fold its own universe"
        same = all(fd.details is fitted[0].details for fd in fitted)
        mapper_details = {"params": params, **(fitted[0].details if same else {"folds": [fd.details for fd in fitted]})}
        mapper_name, space = spec.name, spec.space
    _check_k(ks, min(len(s) for s in sets), include_self, "the evaluation set")

    n_min = min(len(s) for s in sets)
    k_lists = max(ks + ([min(CURVE_K_MAX, n_min - 1)] if curve else []))
    fold_of = np.zeros(n, dtype=np.int64)
    rank_nn = np.zeros(n, dtype=np.int64)
    rank_csls = np.zeros(n, dtype=np.int64)
    n_k = np.zeros(n, dtype=np.int64)
    d_out = preds[0].shape[1]
    F_all = np.zeros((n, d_out), dtype=np.float32) if len(sets) > 1 else preds[0]
    # The Y side of mNNO(Y, f(X)), retrieval and MSE: Y itself, or h(Y) for a shared space.
    R_all = Ya if roles is None else np.zeros((n, d_out), dtype=np.float32)
    nr = ny if roles is None else f"h({ny})"
    nno = {K: {name: np.zeros(n, dtype=np.int64) for name in ("x_f", "y_f", "x_y")} for K in ks}
    neighbours: list[dict[str, np.ndarray]] = []
    curve_sums = {name: np.zeros(k_lists) for name in ("x_f", "y_f", "x_y")} if curve else {}
    hub_k = csls_k = 0
    from crossmodal.measures.retrieval import cross_stats
    from crossmodal.metrics.knn import knn_indices

    for f, (rows, Fs) in enumerate(zip(sets, preds)):
        where = f" (fold {f + 1})" if len(sets) > 1 else ""
        fold_of[rows] = f
        if len(sets) > 1:
            F_all[rows] = Fs
        Xs, Ys = (Xa, Ya) if len(sets) == 1 else (Xa[rows], Ya[rows])
        Rs = Ys if roles is None else roles[f]
        if roles is not None:
            R_all[rows] = Rs
        lists = {}
        sides = [("x", Xs, nx), ("y", Ys, ny), ("f", Fs, nf)] + ([("r", Rs, nr)] if roles is not None else [])
        for name, A, label in sides:
            key = ("neighbours", name, f, k_lists, metric)  # X's and Y's depend on the fold only
            if name in ("x", "y") and key in cache:
                lists[name] = cache[key]  # type: ignore[assignment]
                continue
            if log is not None:
                log(f"neighbours of {label}{where}: {len(rows)} items, K={k_lists}")
            try:
                lists[name] = knn_indices(A, k_lists, metric, device=device, progress=progress)  # type: ignore[arg-type]
            except ValueError as err:
                raise ValueError(f"{label}{where}: {err}") from None
            if name in ("x", "y"):
                cache[key] = lists[name]
        lists.setdefault("r", lists["y"])
        neighbours.append(lists)
        for K in ks:
            for pair, (a, b) in PAIRS.items():
                nno[K][pair][rows] = M.nno_of_lists(lists[a], lists[b], K, include_self)
        if curve:
            for pair, (a, b) in PAIRS.items():
                curve_sums[pair] += M.overlap_curve(lists[a], lists[b], k_lists, include_self).sum(axis=0)
        if log is not None:
            log(f"retrieval and hubness{where}")
        cs = cross_stats(Fs, Rs, HUB_K, CSLS_K, device=device, progress=progress, names=(nf, nr))
        rank_nn[rows], rank_csls[rows], n_k[rows] = cs.rank_nn, cs.rank_csls, cs.n_k
        hub_k, csls_k = cs.hub_k, cs.csls_k

    if log is not None:
        log(f"statistics: {n_permutations} permutations, {n_bootstrap} bootstrap resamples, tests, regression")
    sizes = np.array([len(s) for s in sets])
    by_k: dict[int, KScores] = {}
    for K in ks:
        c = float((sizes * np.array([M.chance(K, int(m), include_self) for m in sizes])).sum() / n)
        x_f, y_f, x_y = (float(nno[K][p].sum()) / (K * n) for p in ("x_f", "y_f", "x_y"))
        p_paired = S.paired_p(nno[K]["x_f"], nno[K]["y_f"])
        p_perm = float("nan")
        if n_permutations > 0:
            pairs = [(M.self_rule_lists(nb["x"], K, include_self), M.self_rule_lists(nb["y"], K, include_self))
                     for nb in neighbours]
            key = ("null", K, include_self, n_permutations, k_lists, metric, seed)
            if key in cache:  # the same null, and the generator left as computing it would leave it
                null, state = cache[key]  # type: ignore[misc]
                rng.bit_generator.state = state
            else:
                null = M.permutation_null(pairs, K, n_permutations, rng, progress)
                cache[key] = (null, rng.bit_generator.state)
            p_perm = S.permutation_p(int(nno[K]["x_y"].sum()), null)
        ci: dict[str, tuple[float, float]] = {}
        if n_bootstrap > 0:
            per = np.column_stack([nno[K]["x_f"], nno[K]["y_f"], nno[K]["x_y"],
                                   nno[K]["y_f"] - nno[K]["x_f"]]).astype(np.float64) / K
            bounds = S.bootstrap_ci(per, n_bootstrap, level, rng)
            ci = {name: (float(lo), float(hi)) for name, (lo, hi) in zip(CI_NAMES, bounds)}
        by_k[K] = KScores(K, x_f, y_f, x_y, c, p_paired, p_perm, ci, verdict(x_f, y_f, p_paired, c, alpha))

    retrieval = {
        "nn": Retrieval(**rank_summary(rank_nn)),
        "csls": Retrieval(**rank_summary(rank_csls)),
    }
    skew, antihubs = hubness(n_k)
    mse, r2 = regression_chunked(F_all, R_all)
    first = by_k[ks[0]]
    curve_out = None
    if curve:
        kk = np.arange(1, k_lists + 1)
        curve_out = Curve(kk, curve_sums["x_f"] / (kk * n), curve_sums["y_f"] / (kk * n), curve_sums["x_y"] / (kk * n),
                          np.array([(sizes * np.array([M.chance(int(K), int(m), include_self) for m in sizes])).sum() / n
                                    for K in kk]))
    setup = {
        "protocol": protocol,
        "mapper": mapper_name,
        "mapper_details": mapper_details,
        "mapper_space": space,
        "y_role": None if F is not None else ("Y" if roles is None else
                                              "h(Y): Y mapped into the shared space; f(X) = g(X) there"),
        "n_folds": len(sets) if F is None else None,
        "fold_sizes": sizes.tolist(),
        "seed": seed,
        "ks": ks,
        "n_permutations": n_permutations,
        "n_bootstrap": n_bootstrap,
        "ci_level": level,
        "alpha": alpha,
        "hub_k": hub_k,
        "csls_k": csls_k,
        "retrieval_similarity": "cosine",
        "inputs": {"x": nx, "y": ny, "f": nf if F is not None else None},
        "dims": {"x": int(Xa.shape[1]), "y": int(Ya.shape[1]), "f": int(d_out)},
        **dict(context or {}),
    }
    return BridgeResult(
        n=n, k=ks[0], metric=metric, include_self=include_self,
        mnno_x_f=first.mnno_x_f, mnno_y_f=first.mnno_y_f, mnno_x_y=first.mnno_x_y, chance=first.chance,
        p_paired=first.p_paired, p_permutation_x_y=first.p_permutation_x_y, ci=first.ci,
        retrieval=retrieval, hubness=Hubness(hub_k, skew, antihubs), mse=mse, r2=r2, verdict=first.verdict,
        by_k=by_k, setup=setup,
        per_item=PerItem(list(keys) if keys is not None else None, fold_of, nno, rank_nn, rank_csls, n_k),
        curve=curve_out,
    )


def _check_k(ks: Sequence[int], n_min: int, include_self: bool, what: str) -> None:
    bad = [K for K in ks if K >= n_min]
    if bad:
        raise ValueError(f"K={bad[0]} is too large: {what} has N={n_min} items, and K must be below N "
                         f"(at most {n_min - 1})")
