"""crossmodal.metrics: mNNO (the paper's measure), exact self-kNN, peer metrics, significance.

Math only; file loading lives in ``crossmodal.datasets.embedding_files``.

The names below are loaded on first use (``crossmodal._lazy``), so that
``crossmodal.metrics.significance`` (numpy/scipy only) can be imported in the torch-free tables
env without pulling in the torch modules ``knn``, ``nno`` and ``peers``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossmodal._lazy import lazy_exports

_WHERE = {
    "METRICS": "knn",
    "Metric": "knn",
    "knn_indices": "knn",
    "mnno": "nno",
    "nno_per_item": "nno",
    "overlap_counts": "nno",
    "linear_cka": "peers",
    "mutual_knn_alignment": "peers",
    "recall_at_k": "peers",
    "retrieval_map": "peers",
    "rsa_spearman": "peers",
    "RankSumResult": "significance",
    "bonferroni": "significance",
    "rank_sum_test": "significance",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from crossmodal.metrics.knn import METRICS, Metric, knn_indices
    from crossmodal.metrics.nno import mnno, nno_per_item, overlap_counts
    from crossmodal.metrics.peers import linear_cka, mutual_knn_alignment, recall_at_k, retrieval_map, rsa_spearman
    from crossmodal.metrics.significance import RankSumResult, bonferroni, rank_sum_test


__getattr__ = lazy_exports(__name__, _WHERE)
