"""crossmodal.mappings: the lin / nn / nn-3 / nn-5 cross-modal mappings, their losses, training
(one at a time or many at once), hyper-parameter selection by CV and evaluation helpers.

Names are loaded on first use (``crossmodal._lazy``): importing a light submodule such as
``crossmodal.mappings.hyperparams`` does not import torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossmodal._lazy import lazy_exports

_WHERE = {
    "ALL_KINDS": "models",
    "BatchedFit": "batched",
    "CVResult": "selection",
    "DEFAULTS": "hyperparams",
    "DecreaseCheck": "diagnostics",
    "Hyperparams": "hyperparams",
    "LOSSES": "losses",
    "LossName": "losses",
    "MappingKind": "models",
    "PAPER_GRID": "selection",
    "RunSpec": "batched",
    "TrainHistory": "common",
    "best_epoch": "selection",
    "build_mapping": "models",
    "check_steady_decrease": "diagnostics",
    "choose_setting": "selection",
    "cross_validate": "selection",
    "fit_batched": "batched",
    "fit_mapping": "train",
    "flag_histories": "diagnostics",
    "grid_settings": "selection",
    "image_feature_class": "hyperparams",
    "kfold_indices": "splits",
    "loss_per_item": "losses",
    "max_margin_per_item": "losses",
    "n_hidden_layers": "models",
    "predict": "train",
    "regression_scores": "splits",
    "resolve_hyperparams": "hyperparams",
    "rmsprop_step": "batched",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from crossmodal.mappings.batched import BatchedFit, RunSpec, fit_batched, rmsprop_step
    from crossmodal.mappings.common import TrainHistory
    from crossmodal.mappings.diagnostics import DecreaseCheck, check_steady_decrease, flag_histories
    from crossmodal.mappings.hyperparams import DEFAULTS, Hyperparams, image_feature_class, resolve_hyperparams
    from crossmodal.mappings.losses import LOSSES, LossName, loss_per_item, max_margin_per_item
    from crossmodal.mappings.models import ALL_KINDS, MappingKind, build_mapping, n_hidden_layers
    from crossmodal.mappings.selection import CVResult, PAPER_GRID, best_epoch, choose_setting, cross_validate, grid_settings
    from crossmodal.mappings.splits import kfold_indices, regression_scores
    from crossmodal.mappings.train import fit_mapping, predict


__getattr__ = lazy_exports(__name__, _WHERE)
