"""The authors' per-dataset hyperparameter defaults, kept as data.

``DEFAULTS`` mirrors ``get_wise_params`` of the authors' released code
(github.com/gcollell/neural_cross_modal_maps, code/param_utils.py); epochs = 50 is its
``--epochs_max`` default. Configs override it with :func:`resolve_hyperparams`'s
``overrides`` (same nested shape), not by editing logic.

Lookup rules, all visible in the table:

* Directions are ``"i2t"`` (image -> text) and ``"t2i"``.
* Learning rate: ``DEFAULTS["lr"][dataset][direction]`` is a dict tried from the most to the
  least specific key: ``"<kind>/<image class>"``, ``"<kind>"``, ``"*"``.
* Image feature classes: the table knows two image features, ``vgg128`` and ``resnet``
  (2048-d). Features outside the table are assigned a class by ``image_feature_class``
  (explicit names first, e.g. our ``sift128`` and ``efficientnet_lite0_fc``), then by
  dimensionality: d <= ``vgg_like_max_dim`` (256) behaves like VGG-128 (a small
  representation wants the smaller hidden layer), larger like ResNet.
* nn-3 / nn-5 (Supplement C.1.1) have no entries of their own; they fall back to ``"*"``
  like any kind without a key (add ``"nn-3"`` keys through ``overrides`` to change that).
* Text features do not enter the lookup. The released code has one text-dependent branch:
  Wiki I->T with a text feature other than biGRU gets lr 1e-3; no such run exists in the
  paper (Wiki text is always biGRU there), so that untuned fallback is not copied and the
  biGRU values apply to every text feature (override ``lr`` to get it back).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossmodal.mappings.models import ALL_KINDS

DEFAULTS: dict[str, Any] = {
    "epochs": 50,
    "batch_size": 64,  # the paper (Supplement A); the released code uses 128
    "hidden": {
        "imagenet": {"vgg128": 512, "resnet": 1024},
        "iaprtc": {"vgg128": 512, "resnet": 1024},
        "wiki": {"vgg128": 256, "resnet": 512},
    },
    "lr": {
        "imagenet": {"i2t": {"*": 1e-4}, "t2i": {"*": 1e-3}},
        "iaprtc": {"i2t": {"lin": 1e-4, "*": 1e-3}, "t2i": {"*": 1e-3}},
        "wiki": {"i2t": {"lin/vgg128": 1e-3, "*": 1e-4}, "t2i": {"*": 1e-3}},
    },
    "image_feature_class": {
        "vgg128": "vgg128",
        "resnet": "resnet",
        "sift128": "vgg128",  # 128-d, same size as VGG-128
        "efficientnet_lite0_fc": "resnet",  # 1280-d, a large CNN representation
        "efficientnet_lite0": "resnet",
    },
    "vgg_like_max_dim": 256,
    "dataset_aliases": {
        "imagenet": "imagenet",
        "imagenet1k_concepts": "imagenet",
        "iaprtc": "iaprtc",
        "iaprtc12": "iaprtc",
        "wiki": "wiki",
        "wikipedia": "wiki",
    },
}


@dataclass(frozen=True)
class Hyperparams:
    hidden: int
    lr: float
    epochs: int
    batch_size: int
    image_class: str  # "vgg128" or "resnet": which column of the table was used


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def image_feature_class(image_feature: str, image_dim: int | None, table: Mapping[str, Any]) -> str:
    """'vgg128' or 'resnet' for an image feature (name first, then the dimensionality rule)."""
    named = table["image_feature_class"].get(image_feature)
    if named is not None:
        return str(named)
    if image_dim is None:
        raise ValueError(f"image feature {image_feature!r} is not in the table; pass image_dim to classify it")
    return "vgg128" if image_dim <= table["vgg_like_max_dim"] else "resnet"


def resolve_hyperparams(
    dataset: str,
    direction: str,
    kind: str,
    image_feature: str,
    image_dim: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    table: Mapping[str, Any] = DEFAULTS,
) -> Hyperparams:
    """Defaults for one (dataset, direction, mapping kind, image feature) combination.

    ``overrides`` is deep-merged into ``table`` first (e.g. ``{"epochs": 20}`` or
    ``{"lr": {"wiki": {"t2i": {"*": 1e-4}}}}``).
    """
    t = _merge(dict(table), overrides or {})
    ds = t["dataset_aliases"].get(dataset)
    if ds is None:
        raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(t['dataset_aliases'])}")
    if direction not in ("i2t", "t2i"):
        raise ValueError(f"direction must be 'i2t' or 't2i', got {direction!r}")
    if kind not in ALL_KINDS:
        raise ValueError(f"kind must be one of {ALL_KINDS}, got {kind!r}")
    cls = image_feature_class(image_feature, image_dim, t)
    lrs = t["lr"][ds][direction]
    for key in (f"{kind}/{cls}", kind, "*"):
        if key in lrs:
            lr = float(lrs[key])
            break
    else:
        raise ValueError(f"no learning rate for {ds}/{direction}/{kind}/{cls} and no '*' entry")
    return Hyperparams(
        hidden=int(t["hidden"][ds][cls]),
        lr=lr,
        epochs=int(t["epochs"]),
        batch_size=int(t["batch_size"]),
        image_class=cls,
    )
