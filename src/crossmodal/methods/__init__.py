"""crossmodal.methods: the field's cross-modal embedding methods and the paper's proposed remedies,
measured by mNNO and by retrieval (issue 14).

* ``terms``: the remedies as loss terms of a regression map (adversarial, pairwise similarity),
  trained by the batched engine (``crossmodal.mappings.batched.fit_batched(..., term=...)``);
* ``regression``: lin / nn and the remedies on top of them, with CV;
* ``shared``, ``cca``, ``towers``: shared-space methods (CCA, kernel CCA, deep CCA, Corr-AE,
  classifier-as-proxy, VSE++) and their CV;
* ``retrieval``: mAP, R@K (plain and CSLS), hubness; ``measures``: the mNNO rows and tests;
* ``evaluate``: :func:`evaluate_methods`, the driver a workflow script calls per dataset.

Names are loaded on first use (``crossmodal._lazy``): importing this package imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossmodal._lazy import lazy_exports

_WHERE = {
    "AdversarialTerm": "terms",
    "CCA": "cca",
    "CLASSIFIER": "towers",
    "CORR_AE": "towers",
    "DCCA": "towers",
    "DEFAULT_METHODS": "evaluate",
    "KCCA": "cca",
    "NeighbourhoodTerm": "terms",
    "REGRESSION_METHODS": "regression",
    "SharedMethod": "shared",
    "SharedSpace": "shared",
    "VSE": "towers",
    "cross_validate_shared": "shared",
    "evaluate_methods": "evaluate",
    "fit_ridge_cca": "cca",
    "hardest_negative_loss": "towers",
    "mean_average_precision": "retrieval",
    "retrieval_scores": "retrieval",
    "run_regression": "regression",
    "similarity_kl_per_item": "terms",
    "total_correlation": "towers",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from crossmodal.methods.cca import CCA, KCCA, fit_ridge_cca
    from crossmodal.methods.evaluate import DEFAULT_METHODS, evaluate_methods
    from crossmodal.methods.regression import REGRESSION_METHODS, run_regression
    from crossmodal.methods.retrieval import mean_average_precision, retrieval_scores
    from crossmodal.methods.shared import SharedMethod, SharedSpace, cross_validate_shared
    from crossmodal.methods.terms import AdversarialTerm, NeighbourhoodTerm, similarity_kl_per_item
    from crossmodal.methods.towers import CLASSIFIER, CORR_AE, DCCA, VSE, hardest_negative_loss, total_correlation


__getattr__ = lazy_exports(__name__, _WHERE)
