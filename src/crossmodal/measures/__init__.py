"""crossmodal.measures: the one definition of every measure that Experiment 1, ``crossmodal.bridge``
and Tables 13/14 share.

* ``nno``: NNO / mNNO from neighbour lists with the self rule, chance, the overlap curve, the
  permutation null of mNNO(X, Y) (numpy);
* ``significance``: rank-sum test, Bonferroni, Wilcoxon signed-rank, permutation p, bootstrap
  intervals (numpy/scipy: the torch-free tables env imports it);
* ``ranks``: CSLS, the gallery ordering, AP / mAP, R@K, MRR, hubness (numpy/scipy);
* ``retrieval``: exact ranks of the true partners, CSLS ranks and N_k (``cross_stats``), cosine
  scores, mAP / R@K of feature sets, the paired MRR (the one module with torch);
* ``regression``: MSE and R² in row chunks (numpy).

Names are loaded on first use (``crossmodal._lazy``): importing one module imports none of the
others, and only ``retrieval`` imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossmodal._lazy import lazy_exports

_WHERE = {
    "chance": "nno",
    "check_lists": "nno",
    "mean_nno": "nno",
    "nno_of_lists": "nno",
    "overlap_counts": "nno",
    "overlap_curve": "nno",
    "permutation_null": "nno",
    "self_rule_lists": "nno",
    "RankSumResult": "significance",
    "bonferroni": "significance",
    "bootstrap_ci": "significance",
    "paired_p": "significance",
    "permutation_p": "significance",
    "rank_sum_test": "significance",
    "average_precisions": "ranks",
    "csls": "ranks",
    "duplicate_representative": "ranks",
    "gallery_order": "ranks",
    "hubness": "ranks",
    "mean_average_precision": "ranks",
    "mean_reciprocal_rank": "ranks",
    "rank_summary": "ranks",
    "recall_at": "ranks",
    "relevance": "ranks",
    "CrossStats": "retrieval",
    "cosine_scores": "retrieval",
    "cross_stats": "retrieval",
    "paired_mrr": "retrieval",
    "recall_at_k": "retrieval",
    "retrieval_map": "retrieval",
    "regression_chunked": "regression",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from crossmodal.measures.nno import (
        chance,
        check_lists,
        mean_nno,
        nno_of_lists,
        overlap_counts,
        overlap_curve,
        permutation_null,
        self_rule_lists,
    )
    from crossmodal.measures.ranks import (
        average_precisions,
        csls,
        duplicate_representative,
        gallery_order,
        hubness,
        mean_average_precision,
        mean_reciprocal_rank,
        rank_summary,
        recall_at,
        relevance,
    )
    from crossmodal.measures.regression import regression_chunked
    from crossmodal.measures.retrieval import (
        CrossStats,
        cosine_scores,
        cross_stats,
        paired_mrr,
        recall_at_k,
        retrieval_map,
    )
    from crossmodal.measures.significance import (
        RankSumResult,
        bonferroni,
        bootstrap_ci,
        paired_p,
        permutation_p,
        rank_sum_test,
    )


__getattr__ = lazy_exports(__name__, _WHERE)
