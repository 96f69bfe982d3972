"""Image encoders, per-image extraction and ImageNet-style synset centroids.

Real-weight checks use EfficientNet-Lite0's packaged ImageNet weights on real photographs
(scikit-image's ``chelsea`` cat and ``coffee`` cup, scikit-learn's ``china``/``flower``).
ResNet and VGG-M-128 weights are not obtainable offline: their tests are ARCHITECTURE TESTS
with random weights (shape, determinism, labelling), never accuracy checks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from crossmodal.features.images import (
    ENCODERS,
    canonical_encoder_name,
    extract_image_features,
    load_encoder,
)
from crossmodal.features.synsets import (
    list_synset_images,
    synset_centroids,
    synset_words,
)

skdata = pytest.importorskip("skimage.data", reason="scikit-image provides the test photographs")
sk_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn provides the test photographs")

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    china, flower = sk_datasets.load_sample_images().images
    return {"chelsea": skdata.chelsea(), "coffee": skdata.coffee(), "china": china, "flower": flower}


@pytest.fixture(scope="module")
def lite0():
    return load_encoder("efficientnet-lite0", device="cpu")


def _quiet_random(name, **kw):
    with pytest.warns(UserWarning, match="RANDOM WEIGHTS"):
        return load_encoder(name, allow_random_weights=True, device="cpu", **kw)


# ------------------------------------------------------------------ real weights


def test_efficientnet_lite0_real_weights_classify_photos(photos, lite0):
    res = extract_image_features([photos["chelsea"], photos["coffee"]], lite0, ids=["cat", "coffee"], progress=False)
    assert res.features.shape == (2, 1280) and res.features.dtype == np.float32
    assert res.kept_ids == ["cat", "coffee"] and res.skipped == []
    assert not res.random_weights and "RANDOM" not in res.encoder
    top = lite0.logits(res.features).argmax(dim=1).tolist()
    assert top[0] in CAT_CLASSES
    assert top[1] in COFFEE_CLASSES


def test_efficientnet_lite0_features_are_deterministic_and_batch_independent(photos, lite0):
    imgs = [photos["china"], photos["flower"]]
    a = extract_image_features(imgs, lite0, batch_size=2, progress=False).features
    b = extract_image_features(imgs, lite0, batch_size=1, progress=False).features
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert (a >= 0).all()  # pooled ReLU6 activations


def test_paths_mapping_and_corrupt_files(tmp_path, photos, lite0):
    good = tmp_path / "good.jpg"
    Image.fromarray(photos["chelsea"]).save(good, quality=95)
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:2000])
    res = extract_image_features({"a": good, "b": garbage, "c": truncated, "d": good}, lite0, progress=False)
    assert res.kept_ids == ["a", "d"]
    assert [s[0] for s in res.skipped] == ["b", "c"]
    assert res.features.shape == (2, 1280)
    np.testing.assert_array_equal(res.features[0], res.features[1])
    with pytest.raises(ValueError, match="cannot read image 'b'"):
        extract_image_features({"a": good, "b": garbage}, lite0, on_error="raise", progress=False)
    # file stems are the default ids
    assert extract_image_features([good], lite0, progress=False).kept_ids == ["good"]


# ------------------------------------------------------------------ architecture tests (random weights)


@pytest.mark.parametrize(("name", "dim"), [("resnet18", 512), ("vgg-m-128", 128)])
def test_architecture_random_weights_shape_determinism_label(photos, name, dim):
    """ARCHITECTURE TEST with random weights: shapes, determinism and the random label only."""
    imgs = [photos["chelsea"], photos["china"]]
    e1 = _quiet_random(name, seed=3)
    e2 = _quiet_random(name, seed=3)
    with pytest.warns(UserWarning, match="RANDOM WEIGHTS"):
        r1 = extract_image_features(imgs, e1, progress=False)
    with pytest.warns(UserWarning):
        r2 = extract_image_features(imgs, e2, batch_size=1, progress=False)
    assert r1.features.shape == (2, dim) and e1.dim == dim
    np.testing.assert_allclose(r1.features, r2.features, rtol=1e-4, atol=1e-5)
    assert r1.random_weights and "RANDOM WEIGHTS" in r1.encoder
    assert e1.logits(r1.features).shape == (2, 1000)


def test_resnet152_default_depth_architecture():
    """ARCHITECTURE TEST with random weights: 'resnet' is ResNet-152 with a 2,048-d pooled feature."""
    assert canonical_encoder_name("resnet") == "resnet152"
    enc = _quiet_random("resnet")
    assert enc.name == "resnet152" and enc.dim == 2048
    assert sum(isinstance(m, torch.nn.Conv2d) for m in enc.model.modules()) == 155  # 151 + 4 downsample convs
    with torch.no_grad():
        assert enc.features(torch.zeros(1, 3, 224, 224)).shape == (1, 2048)


def test_resnet_weights_load_from_local_file(tmp_path, photos):
    import torchvision

    torch.manual_seed(7)
    ref = torchvision.models.resnet18(weights=None).eval()
    torch.save(ref.state_dict(), tmp_path / "resnet18.pth")
    enc = load_encoder("resnet18", weights=tmp_path / "resnet18.pth", device="cpu")
    assert not enc.random_weights and enc.label == "resnet18"
    res = extract_image_features([photos["coffee"]], enc, progress=False)
    x = enc.transform(Image.fromarray(photos["coffee"]))[None]
    with torch.no_grad():
        logits = ref(x)
    torch.testing.assert_close(enc.logits(res.features), logits, rtol=1e-4, atol=1e-4)


def test_missing_or_absent_weights_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"resnet152.*not found at .*r152\.pth.*download\.pytorch\.org"):
        load_encoder("resnet152", weights=tmp_path / "r152.pth")
    with pytest.raises(ValueError, match="allow_random_weights=True"):
        load_encoder("resnet152")
    with pytest.raises(ValueError, match="allow_random_weights=True"):
        load_encoder("vgg-m-128")
    with pytest.raises(FileNotFoundError, match="imagenet-vgg-m-128.mat"):
        load_encoder("vgg-m-128", weights=tmp_path / "vggm.pt")


def test_unknown_encoder_lists_known_names():
    with pytest.raises(ValueError, match="unknown image encoder 'alexnet'") as err:
        load_encoder("alexnet")
    for name in ENCODERS:
        assert name in str(err.value)


def test_bad_parameters(photos, lite0):
    with pytest.raises(ValueError, match="on_error"):
        extract_image_features([photos["coffee"]], lite0, on_error="ignore")
    with pytest.raises(ValueError, match="unique"):
        extract_image_features([photos["coffee"]] * 2, lite0, ids=["x", "x"])


# ------------------------------------------------------------------ synset centroids


def _augment(arr: np.ndarray, n: int) -> list[Image.Image]:
    img = Image.fromarray(arr)
    w, h = img.size
    variants = [img, ImageOps.mirror(img), ImageOps.flip(img)]
    for k in range(n):
        f = 0.6 + 0.08 * k
        variants.append(img.crop((int(w * (1 - f) / 2), 0, int(w * (1 + f) / 2), int(h * f))))
    return variants[:n]


@pytest.fixture(scope="module")
def synset_tree(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("synsets")
    layout = {"n02123045": ("chelsea", 4), "n07920052": ("coffee", 3), "n03028079": ("china", 1)}
    for synset, (photo, n) in layout.items():
        d = root / synset
        d.mkdir()
        for i, im in enumerate(_augment(photos[photo], n)):
            im.save(d / f"{synset}_{i}.JPEG", quality=92)
    (root / "README.txt").write_text("not a synset")  # stray files at the top are ignored
    return root


def test_synset_centroids_mean_of_image_features_and_min_filter(synset_tree, lite0):
    out = synset_centroids(synset_tree, lite0, min_images=2, progress=False)
    assert out.synsets == ["n02123045", "n07920052"]  # 4 and 3 images > 2; n03028079 has 1
    assert out.filtered == {"n03028079": 1}
    words = synset_words()
    assert out.words == [words["n02123045"], words["n07920052"]] == ["tabby", "espresso"]
    assert out.vectors.shape == (2, 1280) and out.vectors.dtype == np.float32
    assert out.n_images == [4, 3] and not out.random_weights
    files = list_synset_images(synset_tree)["n02123045"]
    per_image = extract_image_features(files, lite0, batch_size=2, progress=False).features
    np.testing.assert_allclose(out.vectors[0], per_image.mean(axis=0), rtol=1e-5, atol=1e-5)
    # the paper's rule is "more than": exactly min_images is filtered
    assert synset_centroids(synset_tree, lite0, min_images=3, progress=False).synsets == ["n02123045"]


def test_synset_mapping_missing_lemma_duplicates_and_corrupt(tmp_path, synset_tree, photos, lite0):
    mapping = {"n02123045": "Cat", "n07920052": "cat"}
    out = synset_centroids(synset_tree, lite0, min_images=0, lemmas=mapping, progress=False)
    assert out.words == ["cat"] and out.duplicate_word == {"n07920052": "cat"}
    assert out.no_lemma == ["n03028079"]
    # a corrupt file is skipped and counted; it can push a synset under the threshold
    root = tmp_path / "tree"
    (root / "n07920052").mkdir(parents=True)
    for i, im in enumerate(_augment(photos["coffee"], 2)):
        im.save(root / "n07920052" / f"{i}.jpg")
    (root / "n07920052" / "bad.jpg").write_bytes(b"\x00" * 10)
    out = synset_centroids(root, lite0, min_images=2, progress=False)
    assert out.words == [] and out.filtered == {"n07920052": 2} and len(out.skipped_images) == 1
    assert out.vectors.shape == (0, 1280)


def test_empty_synset_folder_is_an_error(tmp_path, lite0):
    (tmp_path / "n01440764").mkdir()
    with pytest.raises(ValueError, match="n01440764"):
        synset_centroids(tmp_path, lite0, progress=False)


def test_no_silent_random_weights_anywhere(synset_tree):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="allow_random_weights"):
            synset_centroids(synset_tree, "resnet50", progress=False)
