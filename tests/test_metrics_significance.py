"""Rank-sum test and Bonferroni adjustment against formulas written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from crossmodal.metrics import bonferroni, rank_sum_test


def reference_rank_sum(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mann-Whitney U with normal approximation, tie and continuity corrections."""
    n1, n2 = len(x), len(y)
    ranks = scipy.stats.rankdata(np.concatenate([x, y]))
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    _, counts = np.unique(np.concatenate([x, y]), return_counts=True)
    tie = (counts**3 - counts).sum() / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie))
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / sigma
    return u1, 2 * scipy.stats.norm.sf(z)


def test_matches_formula_on_tied_nno_vectors() -> None:
    rng = np.random.default_rng(31)
    x = rng.binomial(10, 0.10, size=300).astype(float)  # NNO-like: integers 0..10, many ties
    y = rng.binomial(10, 0.13, size=250).astype(float)
    u, p = reference_rank_sum(x, y)
    res = rank_sum_test(x, y)
    assert math.isclose(res.statistic, u, rel_tol=1e-12)
    assert math.isclose(res.pvalue, p, rel_tol=1e-9)
    assert math.isclose(rank_sum_test(y, x).pvalue, res.pvalue, rel_tol=1e-12)  # two-sided


def test_identical_samples_are_not_significant() -> None:
    x = np.arange(50, dtype=float)
    assert rank_sum_test(x, x.copy()).pvalue == pytest.approx(1.0)


def test_bonferroni_multiplies_and_clips() -> None:
    p = np.array([0.001, 0.02, 0.3, 0.6])
    expected = [min(v * len(p), 1.0) for v in p]
    np.testing.assert_allclose(bonferroni(p), expected, rtol=0, atol=0)
    assert bonferroni([]).size == 0


@pytest.mark.parametrize("bad", [[0.1, -0.1], [1.5], [np.nan]])
def test_bonferroni_rejects_invalid(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bonferroni(bad)


def test_rank_sum_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        rank_sum_test([], [1.0])
    with pytest.raises(ValueError, match="NaN or Inf.*at 1"):
        rank_sum_test([1.0, np.nan], [1.0])
