"""Two-tower shared-space mappings trained with torch (``crossmodal.mappers.towers_fit``, imported
when they run): deep CCA, a correspondence autoencoder, classifier-as-proxy and VSE++. Each
grid's variants are the epochs at which one training run is read (``EPOCHS``).
"""

from __future__ import annotations

from typing import Any

from crossmodal.mappers.registry import Grid, MapperSpec, Param, grid_product, register

EPOCHS: tuple[int, ...] = (15, 30, 60)  # checkpoints read from one run (CV variants)


def _grid(**axes: Any) -> Grid:
    return tuple((base, tuple({"epochs": e} for e in EPOCHS)) for base in grid_product(**axes))


def _params(*extra: Param, lr: float = 1e-3, batch_size: int = 128) -> tuple[Param, ...]:
    return (*extra, Param("lr", float, lr, "Adam learning rate"), Param("batch_size", int, batch_size, "batch size"),
            Param("epochs", int, 50, "training epochs"))


_IMPL = "crossmodal.mappers.towers_fit"
register(MapperSpec(
    "dcca", "towers", "shared", "deep CCA (one hidden layer of 256, 10 outputs, batch 256) + linear CCA; epochs by CV",
    f"{_IMPL}:DCCA", params=_params(Param("hidden", int, 256, "hidden width (none: linear towers)"),
                                     Param("out", int, 10, "outputs of each tower"),
                                     Param("r", float, 1e-4, "ridge of the covariances"), batch_size=256),
    grid=_grid(hidden=(256,), out=(10,))))
register(MapperSpec(
    "corr-ae", "towers", "shared", "correspondence autoencoder (256 hidden, 32-d codes, batch 128); alpha and epochs by CV",
    f"{_IMPL}:CORR_AE", params=_params(Param("hidden", int, 256, "hidden width"), Param("code", int, 32, "code width"),
                                        Param("alpha", float, 0.5, "weight of the correspondence term")),
    grid=_grid(alpha=(0.2, 0.5, 0.8))))
register(MapperSpec(
    "classifier", "towers", "shared", "category classifiers on each side (batch 128), Z = class probabilities; "
    "depth and epochs by CV", f"{_IMPL}:CLASSIFIER",
    params=_params(Param("hidden", int, None, "hidden width (none: linear)"),
                   Param("weight_decay", float, 1e-4, "Adam weight decay")),
    grid=_grid(hidden=(None, 256)), needs_labels=True))
register(MapperSpec(
    "vse++", "towers", "shared", "VSE++ hardest-negative triplet loss (256 hidden, 64-d); margin and epochs by CV",
    f"{_IMPL}:VSE", params=_params(Param("hidden", int, 256, "hidden width"), Param("dim", int, 64, "shared width"),
                                    Param("margin", float, 0.2, "triplet margin"), lr=2e-4),
    grid=_grid(margin=(0.1, 0.2)), aliases=("vse",)))
