"""Significance of NNO differences and intervals (numpy/scipy only: the torch-free tables env
imports this module, through ``crossmodal.metrics.significance``).

* :func:`rank_sum_test` (the paper's test): ``scipy.stats.mannwhitneyu(x, y,
  alternative="two-sided", method="asymptotic", use_continuity=True)``, the Mann-Whitney U form
  of the Wilcoxon rank-sum test with the normal approximation, tie correction and continuity
  correction. Per-item NNO values are small integers (0..K) with many ties, which
  ``scipy.stats.ranksums`` (no tie correction) would mishandle; ``method="asymptotic"`` fixes
  the method so results never switch to the exact distribution with the sample size.
* :func:`bonferroni`: each p times the number of comparisons, clipped at 1.
* :func:`paired_p`: ``scipy.stats.wilcoxon(x, y)``, the two-sided Wilcoxon signed-rank test of
  paired values with scipy's defaults (zero differences dropped, ``method="auto"``); p = 1 when
  every difference is 0.
* :func:`permutation_p`: one-sided p with the +1 rule, (1 + #{null >= observed}) / (1 + B).
* :func:`bootstrap_ci`: items resampled with replacement ``n_bootstrap`` times; percentile
  interval at ``level`` of each column mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats


@dataclass(frozen=True)
class RankSumResult:
    statistic: float  # Mann-Whitney U of the first sample
    pvalue: float  # two-sided, unadjusted


def rank_sum_test(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> RankSumResult:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney U) test of x vs y, e.g. NNO(X, f(X)) vs NNO(Y, f(X))."""
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    for name, v in (("x", a), ("y", b)):
        if len(v) == 0:
            raise ValueError(f"{name} is empty")
        if not np.isfinite(v).all():
            raise ValueError(f"{name} has NaN or Inf values (first at {int(np.argmax(~np.isfinite(v)))})")
    res = scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
    return RankSumResult(float(res.statistic), float(res.pvalue))


def bonferroni(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bonferroni-adjusted p-values: each times the number of comparisons, clipped at 1."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size and (np.isnan(p).any() or (p < 0).any() or (p > 1).any()):
        raise ValueError("p-values must lie in [0, 1]")
    return np.minimum(p * p.size, 1.0)


def paired_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of the pairs (x_i, y_i) (scipy defaults); 1 if all equal."""
    if np.array_equal(x, y):
        return 1.0
    return float(scipy.stats.wilcoxon(x, y, alternative="two-sided").pvalue)


def permutation_p(observed: int, null: np.ndarray) -> float:
    """One-sided p with the +1 rule: (1 + #{null >= observed}) / (1 + B)."""
    return (1.0 + float((null >= observed).sum())) / (1.0 + len(null))


def bootstrap_ci(per_item: np.ndarray, n_bootstrap: int, level: float, rng: np.random.Generator) -> np.ndarray:
    """Percentile intervals of the column means of ``per_item`` (N, m): (m, 2) [lo, hi]."""
    n = per_item.shape[0]
    chunk = max(1, (1 << 23) // (n * per_item.shape[1]))  # resamples per step: ~64 MB of float64
    means = np.empty((n_bootstrap, per_item.shape[1]))
    for s in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - s)
        idx = rng.integers(0, n, size=(b, n))
        means[s : s + b] = per_item[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return np.quantile(means, [tail, 1.0 - tail], axis=0).T
