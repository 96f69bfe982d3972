"""VGG-M-128 (Chatfield et al. 2014, "Return of the devil in the details") in torch, and a
converter from the official MatConvNet model file ``imagenet-vgg-m-128.mat``.

Architecture (MatConvNet layer names; input 224x224x3, RGB in [0, 255] minus the mean image):

====== ===================================================== ===========
conv1  96 x 7x7, stride 2, pad 0; relu1; norm1 (LRN); pool1  3x3 s2 max
conv2  256 x 5x5, stride 2, pad 1; relu2; norm2; pool2       3x3 s2 max, pad [0 1 0 1]
conv3  512 x 3x3, pad 1; relu3
conv4  512 x 3x3, pad 1; relu4
conv5  512 x 3x3, pad 1; relu5; pool5                        3x3 s2 max
fc6    4096 (a 6x6x512 convolution); relu6; (dropout)
fc7    128 (1x1 convolution); relu7; (dropout)
fc8    1000; prob (softmax)
====== ===================================================== ===========

The fully-connected layers stay convolutions, exactly as MatConvNet stores them, so a
converted filter bank loads without reshaping beyond the axis order: MatConvNet filters are
``H x W x Cin x Cout`` and torch's are ``Cout x Cin x H x W`` (``transpose(3, 2, 0, 1)``).

LRN is MatConvNet's ``vl_nnnormalize`` with ``param = [N kappa alpha beta]``:
``y_c = x_c / (kappa + alpha * sum_{q in G(c)} x_q^2)^beta`` with
``G(c) = [c - floor((N-1)/2), c + ceil((N-1)/2)]`` (alpha is *not* divided by N, unlike
torch's ``LocalResponseNorm``). Max pooling pads with -inf and supports MatConvNet's
asymmetric ``[top bottom left right]`` padding; convolutions pad with zeros.

The feature is the 128-d ``fc7`` layer before the softmax. We take it **after** ``relu7``
(``feature_layer="relu7"``): the authors' released IAPR TC-12 VGG-128 features
(``TS_vis_vgg128.csv``) are non-negative with 44% exact zeros, i.e. post-ReLU.

The converter reads both MatConvNet layouts as ``scipy.io.loadmat`` sees them: the new one
(``layers`` + ``meta.normalization``/``meta.classes``; conv ``weights = {filters, biases}``)
and the old one (``layers`` + top-level ``normalization``/``classes``; conv ``filters`` and
``biases`` fields, LRN type ``normalize``), and also a single ``net`` struct holding either.
The converted file is a torch checkpoint (``torch.load(..., weights_only=True)``-safe) with the
layer spec, the state dict and the normalisation.

Where to get the weights: ``imagenet-vgg-m-128.mat`` from the MatConvNet pretrained-model page
(http://www.vlfeat.org/matconvnet/models/imagenet-vgg-m-128.mat); not obtainable offline.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from crossmodal.io import atomic_path

FORMAT = "crossmodal-matconvnet-cnn/1"
DEFAULT_FEATURE_LAYER = "relu7"
VGGM128_SOURCE = "http://www.vlfeat.org/matconvnet/models/imagenet-vgg-m-128.mat"
# MatConvNet's ImageNet mean (RGB) used by the VGG-M family; the .mat's own value wins.
IMAGENET_MEAN_RGB = (122.74, 114.94, 101.64)

LayerSpec = dict[str, Any]


def vggm128_spec(n_classes: int = 1000) -> list[LayerSpec]:
    """The VGG-M-128 layer list (MatConvNet names and hyper-parameters)."""

    def conv(name, cin, cout, k, stride=1, pad=0):
        p = (pad,) * 4 if isinstance(pad, int) else tuple(pad)
        return {"type": "conv", "name": name, "in": cin, "out": cout, "kernel": (k, k), "stride": (stride, stride), "pad": p}

    def pool(name, pad=(0, 0, 0, 0)):
        return {"type": "pool", "name": name, "method": "max", "kernel": (3, 3), "stride": (2, 2), "pad": tuple(pad)}

    def lrn(name):
        return {"type": "lrn", "name": name, "param": (5.0, 2.0, 1e-4, 0.75)}

    return [
        conv("conv1", 3, 96, 7, 2, 0), {"type": "relu", "name": "relu1"}, lrn("norm1"), pool("pool1"),
        conv("conv2", 96, 256, 5, 2, 1), {"type": "relu", "name": "relu2"}, lrn("norm2"), pool("pool2", (0, 1, 0, 1)),
        conv("conv3", 256, 512, 3, 1, 1), {"type": "relu", "name": "relu3"},
        conv("conv4", 512, 512, 3, 1, 1), {"type": "relu", "name": "relu4"},
        conv("conv5", 512, 512, 3, 1, 1), {"type": "relu", "name": "relu5"}, pool("pool5"),
        conv("fc6", 512, 4096, 6), {"type": "relu", "name": "relu6"}, {"type": "dropout", "name": "dropout6"},
        conv("fc7", 4096, 128, 1), {"type": "relu", "name": "relu7"}, {"type": "dropout", "name": "dropout7"},
        conv("fc8", 128, n_classes, 1), {"type": "softmax", "name": "prob"},
    ]  # fmt: skip


class MatConvNetLRN(nn.Module):
    """``vl_nnnormalize`` (see the module docstring)."""

    def __init__(self, n: int, kappa: float, alpha: float, beta: float):
        super().__init__()
        self.n, self.kappa, self.alpha, self.beta = int(n), float(kappa), float(alpha), float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        before, after = (self.n - 1) // 2, math.ceil((self.n - 1) / 2)
        sq = F.pad(x * x, (0, 0, 0, 0, before, after))
        c = x.shape[1]
        s = sum(sq[:, i : i + c] for i in range(self.n))
        return x / (self.kappa + self.alpha * s) ** self.beta


class PaddedPool(nn.Module):
    """Max/average pooling with MatConvNet's [top bottom left right] padding."""

    def __init__(self, method: str, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int, int, int]):
        super().__init__()
        if method not in ("max", "avg"):
            raise ValueError(f"unsupported pooling method {method!r}")
        self.method, self.kernel, self.stride, self.pad = method, tuple(kernel), tuple(stride), tuple(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, l, r = self.pad
        if self.method == "max":
            if any(self.pad):
                x = F.pad(x, (l, r, t, b), value=float("-inf"))
            return F.max_pool2d(x, self.kernel, self.stride)
        if any(self.pad):  # MatConvNet averages over the full window, padding counted as zeros
            x = F.pad(x, (l, r, t, b))
        return F.avg_pool2d(x, self.kernel, self.stride)


class PaddedConv(nn.Conv2d):
    """A convolution with (possibly asymmetric) zero padding applied before it."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int, int, int]):
        super().__init__(cin, cout, tuple(kernel), stride=tuple(stride))
        self.mcn_pad = tuple(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, l, r = self.mcn_pad
        if any(self.mcn_pad):
            x = F.pad(x, (l, r, t, b))
        return super().forward(x)


class MatConvNetCNN(nn.Module):
    """A simple-chain MatConvNet network; ``forward(x, until=name)`` stops after that layer."""

    def __init__(self, spec: list[LayerSpec], feature_layer: str = DEFAULT_FEATURE_LAYER):
        super().__init__()
        self.spec = [dict(s) for s in spec]
        self.layers = nn.ModuleDict()
        for s in self.spec:
            t = s["type"]
            if t == "conv":
                m: nn.Module = PaddedConv(s["in"], s["out"], s["kernel"], s["stride"], s["pad"])
            elif t == "relu":
                m = nn.ReLU()
            elif t == "lrn":
                m = MatConvNetLRN(*s["param"])
            elif t == "pool":
                m = PaddedPool(s["method"], s["kernel"], s["stride"], s["pad"])
            elif t in ("dropout", "softmax"):
                m = nn.Identity() if t == "dropout" else nn.Softmax(dim=1)
            else:
                raise ValueError(f"layer {s['name']!r}: unsupported type {t!r}")
            if s["name"] in self.layers:
                raise ValueError(f"duplicate layer name {s['name']!r}")
            self.layers[s["name"]] = m
        names = [s["name"] for s in self.spec]
        if feature_layer not in names:
            raise ValueError(f"feature layer {feature_layer!r} not in the network's layers {names}")
        self.feature_layer = feature_layer

    def forward(self, x: torch.Tensor, until: str | None = None) -> torch.Tensor:
        for s in self.spec:
            if s["type"] == "softmax" and until is None:
                break  # return logits, not probabilities
            x = self.layers[s["name"]](x)
            if s["name"] == until:
                break
        return x.flatten(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x, until=self.feature_layer)

    @property
    def feature_dim(self) -> int:
        names = [s["name"] for s in self.spec]
        convs = [s for s in self.spec[: names.index(self.feature_layer) + 1] if s["type"] == "conv"]
        return int(convs[-1]["out"])


# ---------------------------------------------------------------- MatConvNet .mat reading


def _unwrap(x: Any) -> Any:
    """Strip the 1x1 object/cell wrappers loadmat puts around structs and cell elements."""
    while isinstance(x, np.ndarray) and x.dtype == object and x.size == 1:
        x = x.flat[0]
    return x


def _field(st: Any, name: str, default: Any = None) -> Any:
    st = _unwrap(st)
    if isinstance(st, dict):
        return st.get(name, default)
    if hasattr(st, "_fieldnames"):
        return getattr(st, name) if name in st._fieldnames else default
    if isinstance(st, np.ndarray) and st.dtype.names:  # struct_as_record=True
        return st[name].flat[0] if name in st.dtype.names else default
    return default


def _str(x: Any) -> str:
    x = _unwrap(x)
    if isinstance(x, np.ndarray):
        if x.size == 0:
            return ""
        if x.dtype.kind in "US":
            return "".join(str(v) for v in x.ravel())
    return str(x)


def _nums(x: Any, default: Any = None) -> np.ndarray | None:
    x = _unwrap(x)
    if x is None:
        return None if default is None else np.asarray(default, dtype=np.float64)
    a = np.asarray(x, dtype=np.float64).ravel()
    return a if a.size else (None if default is None else np.asarray(default, dtype=np.float64))


def _pair(a: np.ndarray | None, default: int) -> tuple[int, int]:
    if a is None:
        return (default, default)
    return (int(a[0]), int(a[0])) if a.size == 1 else (int(a[0]), int(a[1]))


def _pad4(a: np.ndarray | None) -> tuple[int, int, int, int]:
    if a is None:
        return (0, 0, 0, 0)
    if a.size == 1:
        return (int(a[0]),) * 4
    if a.size == 2:  # [py px]
        return (int(a[0]), int(a[0]), int(a[1]), int(a[1]))
    if a.size == 4:
        return tuple(int(v) for v in a)  # type: ignore[return-value]
    raise ValueError(f"pad must have 1, 2 or 4 entries, got {a.size}")


def _as4d(f: np.ndarray) -> np.ndarray:
    """MATLAB drops trailing singleton dimensions (a 1-output filter bank is H x W x Cin)."""
    f = np.asarray(f, dtype=np.float32)
    if f.ndim > 4:
        raise ValueError(f"filter bank has {f.ndim} dimensions")
    return f.reshape(f.shape + (1,) * (4 - f.ndim))


def _conv_params(layer: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    weights = _field(layer, "weights")
    if weights is not None:  # new layout: cell {filters, biases}
        cells = [c for c in np.asarray(weights, dtype=object).ravel()]
        if len(cells) != 2:
            raise ValueError(f"layer {name!r}: weights must be {{filters, biases}}, got {len(cells)} entries")
        filters, biases = cells
    else:  # old layout
        filters, biases = _field(layer, "filters"), _field(layer, "biases")
        if filters is None:
            raise ValueError(f"layer {name!r}: conv layer with neither 'weights' nor 'filters'")
    f = _as4d(filters)
    b = np.zeros(f.shape[3], np.float32) if biases is None or np.size(biases) == 0 else np.asarray(biases, np.float32).ravel()
    if b.size != f.shape[3]:
        raise ValueError(f"layer {name!r}: {b.size} biases for {f.shape[3]} filters")
    return f, b


def read_matconvnet(mat_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Layer spec, torch state dict and normalisation of a simple-chain MatConvNet model."""
    import scipy.io

    mat = scipy.io.loadmat(mat_path, struct_as_record=False, squeeze_me=False)
    root: Any = mat
    if "layers" not in mat and "net" in mat:
        root = _unwrap(mat["net"])
    layers = _field(root, "layers") if not isinstance(root, dict) else root.get("layers")
    if layers is None:
        raise ValueError(f"{mat_path}: no 'layers' (expected a MatConvNet SimpleNN model; DagNN files are not supported)")
    meta = _field(root, "meta") if not isinstance(root, dict) else root.get("meta")
    norm_src = meta if meta is not None else root
    normalization = _field(norm_src, "normalization") if not isinstance(norm_src, dict) else norm_src.get("normalization")
    classes = _field(norm_src, "classes") if not isinstance(norm_src, dict) else norm_src.get("classes")

    spec: list[LayerSpec] = []
    state: dict[str, torch.Tensor] = {}
    for i, raw in enumerate(np.asarray(layers, dtype=object).ravel()):
        layer = _unwrap(raw)
        t = _str(_field(layer, "type")).lower()
        name = _str(_field(layer, "name")) or f"layer{i + 1}"
        if t == "conv":
            f, b = _conv_params(layer, name)
            spec.append({
                "type": "conv", "name": name, "in": int(f.shape[2]), "out": int(f.shape[3]),
                "kernel": (int(f.shape[0]), int(f.shape[1])),
                "stride": _pair(_nums(_field(layer, "stride")), 1), "pad": _pad4(_nums(_field(layer, "pad"))),
            })  # fmt: skip
            state[f"layers.{name}.weight"] = torch.from_numpy(np.ascontiguousarray(f.transpose(3, 2, 0, 1)))
            state[f"layers.{name}.bias"] = torch.from_numpy(b.copy())
        elif t == "relu":
            leak = _nums(_field(layer, "leak"))
            if leak is not None and float(leak[0]) != 0.0:
                raise ValueError(f"layer {name!r}: leaky ReLU is not supported")
            spec.append({"type": "relu", "name": name})
        elif t in ("lrn", "normalize"):
            p = _nums(_field(layer, "param"))
            if p is None or p.size != 4:
                raise ValueError(f"layer {name!r}: LRN param must be [N kappa alpha beta]")
            spec.append({"type": "lrn", "name": name, "param": tuple(float(v) for v in p)})
        elif t == "pool":
            method = _str(_field(layer, "method")) or "max"
            spec.append({
                "type": "pool", "name": name, "method": method, "kernel": _pair(_nums(_field(layer, "pool")), 1),
                "stride": _pair(_nums(_field(layer, "stride")), 1), "pad": _pad4(_nums(_field(layer, "pad"))),
            })  # fmt: skip
        elif t in ("dropout", "softmax"):
            spec.append({"type": t, "name": name})
        else:
            raise ValueError(f"{mat_path}: layer {name!r} has unsupported type {t!r}")

    avg = None
    image_size = (224, 224)
    border = (32, 32)
    if normalization is not None:
        a = _unwrap(_field(normalization, "averageImage"))
        if a is not None and np.size(a):
            avg = np.asarray(a, dtype=np.float32)
            avg = avg.reshape(1, 1, 3) if avg.size == 3 else avg.reshape(avg.shape[0], avg.shape[1], 3)
        sz = _nums(_field(normalization, "imageSize"))
        if sz is not None:
            image_size = (int(sz[0]), int(sz[1]))
        bd = _nums(_field(normalization, "border"))
        if bd is not None:
            border = _pair(bd, 0)
    if avg is None:
        avg = np.asarray(IMAGENET_MEAN_RGB, np.float32).reshape(1, 1, 3)
    class_names = None
    if classes is not None:
        desc = _field(classes, "description")
        if desc is not None:
            class_names = [_str(d) for d in np.asarray(desc, dtype=object).ravel()]
    return {
        "format": FORMAT,
        "spec": spec,
        "state_dict": state,
        "average_image": torch.from_numpy(np.ascontiguousarray(avg)),  # H x W x 3 (or 1 x 1 x 3), RGB, 0..255 scale
        "image_size": image_size,
        "border": border,
        "classes": class_names,
        "source": str(Path(mat_path).name),
    }


def convert_matconvnet(mat_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Convert a MatConvNet ``.mat`` (e.g. ``imagenet-vgg-m-128.mat``) to a torch checkpoint."""
    ckpt = read_matconvnet(mat_path)
    MatConvNetCNN(ckpt["spec"], feature_layer=ckpt["spec"][0]["name"]).load_state_dict(ckpt["state_dict"])  # validate
    with atomic_path(out_path) as tmp:
        torch.save(ckpt, tmp)
    return ckpt


def load_converted(path: str | os.PathLike[str], feature_layer: str = DEFAULT_FEATURE_LAYER) -> tuple[MatConvNetCNN, dict[str, Any]]:
    """The network (eval mode) and the checkpoint's metadata from a converted file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"converted VGG-M-128 weights not found at {path}: download {VGGM128_SOURCE} and convert it with "
            f"crossmodal.features.vggm.convert_matconvnet('imagenet-vgg-m-128.mat', '{path}')"
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: not a converted MatConvNet checkpoint (format {ckpt.get('format')!r})")
    net = MatConvNetCNN(ckpt["spec"], feature_layer=feature_layer)
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt
