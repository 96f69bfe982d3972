"""The paper's maps (Collell & Moens 2018, Sect. 3 and Supplement C.1.1), trained by
``crossmodal.mappings`` (RMSprop, batch 64): ``lin`` f(x) = W0 x + b0; ``nn`` one hidden ReLU layer;
``nn-3`` and ``nn-5`` three and five hidden ReLU layers of one width.

Without a given value, learning rate, width and epochs are the authors' released values for the
paper dataset ``paper_defaults`` (direction I→T; the width class follows d_x). For Tables 13/14
the learning rate and the number of epochs are chosen by Experiment 1's CV (MSE) over ``grid``.
"""

from __future__ import annotations

from itertools import product

from crossmodal.mappers.registry import MapperSpec, Param, register

# Tables 13/14: the CV grid of the base maps (the epochs are chosen by CV up to methods.max_epochs).
BASE_AXES: dict[str, tuple[float, ...]] = {"lr": (1e-3, 1e-4), "hidden": (256,), "dropout": (0.0,), "margin": (1.0,)}
BASE_GRID = tuple((dict(zip(BASE_AXES, combo)), ({},)) for combo in product(*BASE_AXES.values()))
PARAMS: tuple[Param, ...] = (
    Param("lr", float, None, "learning rate (default: the authors' value)"),
    Param("hidden", int, None, "hidden width (default: the authors' value for d_x)"),
    Param("epochs", int, None, "epochs (default: the authors' value)"),
    Param("batch_size", int, None, "batch size (default: the authors' value, 64)"),
    Param("loss", str, "mse", "training loss: mse, cosine or max-margin"),
    Param("paper_defaults", str, "iaprtc", "whose released hyper-parameters to start from: iaprtc, wiki or imagenet"),
)
SUMMARIES = {"lin": "the paper's linear map", "nn": "the paper's one-hidden-layer ReLU map",
             "nn-3": "three hidden ReLU layers (Supplement C.1.1)", "nn-5": "five hidden ReLU layers (Supplement C.1.1)"}
HIDDEN_LAYERS = {"lin": 0, "nn": 1, "nn-3": 3, "nn-5": 5}


def params_for(kind: str) -> tuple[Param, ...]:
    """The parameters of ``kind``: ``lin`` has no hidden layer, so no width."""
    return PARAMS if HIDDEN_LAYERS[kind] else tuple(p for p in PARAMS if p.name != "hidden")



for _name in HIDDEN_LAYERS:
    register(MapperSpec(
        _name, "paper", "Y", SUMMARIES[_name], f"crossmodal.mappers.regression:MAPS[{_name}]",
        params=params_for(_name),
        grid=BASE_GRID, devices=("cpu", "cuda"), in_tables=_name in ("lin", "nn"), experiment1=True))
