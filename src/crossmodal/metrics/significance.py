"""Significance of NNO differences: two-sided Wilcoxon rank-sum test, Bonferroni-adjusted.

The test is ``scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic",
use_continuity=True)``: the Mann-Whitney U form of the Wilcoxon rank-sum test, with the
normal approximation, tie correction and continuity correction. Per-item NNO values are
small integers (0..K) with many ties, which ``scipy.stats.ranksums`` (no tie correction)
would mishandle; ``method="asymptotic"`` fixes the method so results never switch to the
exact distribution with the sample size.
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
