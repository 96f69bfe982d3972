"""crossmodal.mappings: the lin / nn cross-modal mappings, their training and evaluation helpers."""

from crossmodal.mappings.hyperparams import DEFAULTS, Hyperparams, image_feature_class, resolve_hyperparams
from crossmodal.mappings.models import KINDS, MappingKind, build_mapping
from crossmodal.mappings.splits import kfold_indices, regression_scores
from crossmodal.mappings.train import TrainHistory, fit_mapping, predict

__all__ = [
    "DEFAULTS",
    "KINDS",
    "Hyperparams",
    "MappingKind",
    "TrainHistory",
    "build_mapping",
    "fit_mapping",
    "image_feature_class",
    "kfold_indices",
    "predict",
    "regression_scores",
    "resolve_hyperparams",
]
