"""Significance of NNO differences: two-sided Wilcoxon rank-sum test, Bonferroni-adjusted.

The definitions live in ``crossmodal.measures.significance`` (numpy/scipy only, so the
torch-free tables env can import this module); this module keeps their public names.
"""

from __future__ import annotations

from crossmodal.measures.significance import RankSumResult, bonferroni, rank_sum_test

__all__ = ["RankSumResult", "bonferroni", "rank_sum_test"]
