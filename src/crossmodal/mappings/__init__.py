"""crossmodal.mappings: the lin / nn / nn-3 / nn-5 cross-modal mappings, their losses, training
(one at a time or many at once), hyper-parameter selection by CV and evaluation helpers."""

from crossmodal.mappings.batched import BatchedFit, RunSpec, fit_batched, rmsprop_step
from crossmodal.mappings.diagnostics import (
    DecreaseCheck,
    check_steady_decrease,
    flag_histories,
)
from crossmodal.mappings.hyperparams import (
    DEFAULTS,
    Hyperparams,
    image_feature_class,
    resolve_hyperparams,
)
from crossmodal.mappings.losses import (
    LOSSES,
    LossName,
    loss_per_item,
    max_margin_per_item,
)
from crossmodal.mappings.models import (
    ALL_KINDS,
    DEEP_KINDS,
    KINDS,
    MappingKind,
    build_mapping,
    n_hidden_layers,
)
from crossmodal.mappings.selection import (
    PAPER_GRID,
    CVResult,
    best_epoch,
    choose_setting,
    cross_validate,
    grid_settings,
)
from crossmodal.mappings.splits import kfold_indices, regression_scores
from crossmodal.mappings.train import TrainHistory, fit_mapping, predict

__all__ = [
    "ALL_KINDS",
    "DEEP_KINDS",
    "DEFAULTS",
    "KINDS",
    "LOSSES",
    "PAPER_GRID",
    "BatchedFit",
    "CVResult",
    "DecreaseCheck",
    "Hyperparams",
    "LossName",
    "MappingKind",
    "RunSpec",
    "TrainHistory",
    "best_epoch",
    "build_mapping",
    "check_steady_decrease",
    "choose_setting",
    "cross_validate",
    "fit_batched",
    "fit_mapping",
    "flag_histories",
    "grid_settings",
    "image_feature_class",
    "kfold_indices",
    "loss_per_item",
    "max_margin_per_item",
    "n_hidden_layers",
    "predict",
    "regression_scores",
    "resolve_hyperparams",
    "rmsprop_step",
]
