"""crossmodal.metrics: mNNO (the paper's measure), exact self-kNN, peer metrics, significance.

Math only; file loading lives in ``crossmodal.datasets.embedding_files``.
"""

from crossmodal.metrics.knn import METRICS, Metric, knn_indices
from crossmodal.metrics.nno import mnno, nno_per_item, overlap_counts
from crossmodal.metrics.peers import (
    linear_cka,
    mutual_knn_alignment,
    recall_at_k,
    retrieval_map,
    rsa_spearman,
)
from crossmodal.metrics.significance import RankSumResult, bonferroni, rank_sum_test

__all__ = [
    "METRICS",
    "Metric",
    "RankSumResult",
    "bonferroni",
    "knn_indices",
    "linear_cka",
    "mnno",
    "mutual_knn_alignment",
    "nno_per_item",
    "overlap_counts",
    "rank_sum_test",
    "recall_at_k",
    "retrieval_map",
    "rsa_spearman",
]
