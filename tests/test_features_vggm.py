"""VGG-M-128 in torch and the MatConvNet .mat converter.

The converter is checked on small networks written in the MatConvNet layouts with
``scipy.io.savemat``: weights must land transposed (HxWxCinxCout -> CoutxCinxHxW) in the right
tensors, and a forward pass must equal a reference computed independently with numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from crossmodal.features import vggm
from crossmodal.features.images import extract_image_features, load_encoder

H, W = 6, 5  # non-square input: catches H/W mix-ups


def _cell(items):
    c = np.empty((1, len(items)), dtype=object)
    for i, x in enumerate(items):
        c[0, i] = x
    return c


def _tiny_params(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "conv1": (rng.normal(size=(3, 3, 3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)),
        "fc7": (rng.normal(size=(3, 3, 4, 5)).astype(np.float32) * 0.3, rng.normal(size=5).astype(np.float32)),
        "fc8": (rng.normal(size=(1, 1, 5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)),
        "avg": rng.uniform(50, 150, size=(H, W, 3)).astype(np.float32),
    }


LRN = [3.0, 2.0, 0.01, 0.75]  # N kappa alpha beta
CONV1_PAD = [1, 1, 0, 2]  # top bottom left right
POOL_PAD = [0, 1, 0, 1]


def _write_mat(path, p, layout="new"):
    def conv(name, f, b, pad=0, stride=1):
        d = {"type": "conv", "name": name, "stride": np.array([[stride, stride]], float), "pad": np.array([pad], float).reshape(1, -1)}
        if layout == "new":
            d["weights"] = _cell([f, b.reshape(1, -1)])
        else:
            d["filters"], d["biases"] = f, b.reshape(1, -1)
        return d

    layers = [
        conv("conv1", *p["conv1"], pad=CONV1_PAD),
        {"type": "relu", "name": "relu1"},
        {"type": "lrn" if layout == "new" else "normalize", "name": "norm1", "param": np.array([LRN])},
        {"type": "pool", "name": "pool1", "method": "max", "pool": np.array([[2.0, 2.0]]), "stride": np.array([[2.0, 2.0]]), "pad": np.array([POOL_PAD], float)},
        conv("fc7", *p["fc7"]),
        {"type": "relu", "name": "relu7"},
        {"type": "dropout", "name": "dropout7", "rate": 0.5},
        conv("fc8", *p["fc8"]),
        {"type": "softmax", "name": "prob"},
    ]
    norm = {"averageImage": p["avg"], "imageSize": np.array([[H, W, 3]], float), "border": np.array([[0.0, 0.0]]), "interpolation": "bilinear"}
    classes = {"name": _cell(["a", "b", "c"]), "description": _cell(["class a", "class b", "class c"])}
    content = {"layers": _cell(layers)}
    if layout == "new":
        content["meta"] = {"normalization": norm, "classes": classes}
    else:
        content["normalization"], content["classes"] = norm, classes
    scipy.io.savemat(path, content)


# ------------------------------------------------------------- independent numpy reference


def _np_conv(x, f, b, pad=(0, 0, 0, 0), stride=1):
    """x: HxWxC; f: kh x kw x Cin x Cout (MatConvNet layout); correlation, zero padding."""
    t, bo, l, r = pad
    x = np.pad(x, ((t, bo), (l, r), (0, 0)))
    kh, kw, _, cout = f.shape
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    y = np.zeros((oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            patch = x[i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            y[i, j] = np.tensordot(patch, f, axes=([0, 1, 2], [0, 1, 2])) + b
    return y


def _np_lrn(x, n, kappa, alpha, beta):
    c = x.shape[2]
    y = np.empty_like(x)
    for k in range(c):
        lo, hi = max(0, k - (n - 1) // 2), min(c - 1, k + int(np.ceil((n - 1) / 2)))
        y[..., k] = x[..., k] / (kappa + alpha * (x[..., lo : hi + 1] ** 2).sum(axis=2)) ** beta
    return y


def _np_maxpool(x, k, s, pad):
    t, bo, l, r = pad
    x = np.pad(x, ((t, bo), (l, r), (0, 0)), constant_values=-np.inf)
    oh, ow = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    return np.array([[x[i * s : i * s + k, j * s : j * s + k].max(axis=(0, 1)) for j in range(ow)] for i in range(oh)])


def _np_forward(img_hwc, p):
    x = img_hwc.astype(np.float64) - p["avg"]
    x = np.maximum(_np_conv(x, *p["conv1"], pad=CONV1_PAD), 0)
    x = _np_lrn(x, int(LRN[0]), *LRN[1:])
    x = _np_maxpool(x, 2, 2, POOL_PAD)
    feat = np.maximum(_np_conv(x, *p["fc7"]), 0).reshape(-1)
    logits = _np_conv(feat.reshape(1, 1, -1), *p["fc8"]).reshape(-1)
    return feat, logits


# --------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("layout", ["new", "old"])
def test_converter_places_weights_and_matches_numpy_forward(tmp_path, layout):
    p = _tiny_params()
    mat = tmp_path / f"tiny-{layout}.mat"
    _write_mat(mat, p, layout)
    ckpt = vggm.convert_matconvnet(mat, tmp_path / "tiny.pt")
    sd = ckpt["state_dict"]
    for name in ("conv1", "fc7", "fc8"):
        f, b = p[name]
        np.testing.assert_array_equal(sd[f"layers.{name}.weight"].numpy(), f.transpose(3, 2, 0, 1))
        np.testing.assert_array_equal(sd[f"layers.{name}.bias"].numpy(), b)
    assert [s["type"] for s in ckpt["spec"]] == ["conv", "relu", "lrn", "pool", "conv", "relu", "dropout", "conv", "softmax"]
    assert ckpt["spec"][0]["pad"] == tuple(CONV1_PAD) and ckpt["spec"][3]["pad"] == tuple(POOL_PAD)
    assert ckpt["spec"][2]["param"] == tuple(LRN)
    assert ckpt["classes"] == ["class a", "class b", "class c"]
    assert ckpt["average_image"].shape == (H, W, 3)

    net, _ = vggm.load_converted(tmp_path / "tiny.pt")
    img = np.random.default_rng(1).integers(0, 256, size=(H, W, 3)).astype(np.uint8)
    ref_feat, ref_logits = _np_forward(img, p)
    x = torch.from_numpy(img.astype(np.float32) - p["avg"]).permute(2, 0, 1)[None]
    with torch.no_grad():
        np.testing.assert_allclose(net.features(x)[0].numpy(), ref_feat, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(net(x)[0].numpy(), ref_logits, rtol=1e-4, atol=1e-4)
    assert net.feature_dim == 5

    # end to end through the image encoder: preprocessing = mean-image subtraction (no resize here)
    enc = load_encoder("vgg-m-128", weights=tmp_path / "tiny.pt", device="cpu")
    assert not enc.random_weights and enc.dim == 5
    res = extract_image_features([Image.fromarray(img)], enc, ids=["x"], progress=False)
    np.testing.assert_allclose(res.features[0], ref_feat, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(enc.logits(res.features)[0].numpy(), ref_logits, rtol=1e-4, atol=1e-4)


def test_converter_accepts_net_struct_and_single_output_filters(tmp_path):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(2, 2, 3, 1)).astype(np.float32)  # MATLAB stores this as 2x2x3
    layers = _cell([{"type": "conv", "name": "c", "weights": _cell([f[..., 0], np.array([[0.5]])]), "stride": 1.0, "pad": 0.0}])
    scipy.io.savemat(tmp_path / "n.mat", {"net": {"layers": layers, "meta": {"normalization": {"averageImage": np.array([[[1.0, 2.0, 3.0]]])}}}})
    ck = vggm.read_matconvnet(tmp_path / "n.mat")
    assert ck["state_dict"]["layers.c.weight"].shape == (1, 3, 2, 2)
    np.testing.assert_array_equal(ck["state_dict"]["layers.c.weight"].numpy(), f.transpose(3, 2, 0, 1))
    assert ck["average_image"].shape == (1, 1, 3)


def test_converter_rejects_unknown_layer_type(tmp_path):
    scipy.io.savemat(tmp_path / "b.mat", {"layers": _cell([{"type": "bnorm", "name": "bn"}])})
    with pytest.raises(ValueError, match="unsupported type 'bnorm'"):
        vggm.read_matconvnet(tmp_path / "b.mat")


def test_missing_converted_file_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="imagenet-vgg-m-128.mat"):
        vggm.load_converted(tmp_path / "vgg-m-128.pt")


def test_lrn_differs_from_torch_alpha_convention():
    x = torch.randn(1, 7, 2, 2)
    ours = vggm.MatConvNetLRN(5, 2.0, 1e-2, 0.75)(x)
    # torch divides alpha by the window size: LocalResponseNorm(alpha=N*alpha) is the same map
    ref = torch.nn.LocalResponseNorm(5, alpha=5 * 1e-2, beta=0.75, k=2.0)(x)
    torch.testing.assert_close(ours, ref)


def test_vggm128_architecture_random_weights():
    """Architecture test (random weights): layer sizes of VGG-M-128 and a 128-d feature."""
    torch.manual_seed(0)
    net = vggm.MatConvNetCNN(vggm.vggm128_spec()).eval()
    x = torch.randn(2, 3, 224, 224) * 50
    shapes = {}
    with torch.no_grad():
        for s in net.spec:
            if s["type"] == "softmax":
                break
            x = net.layers[s["name"]](x)
            shapes[s["name"]] = tuple(x.shape[1:])
    assert shapes["conv1"] == (96, 109, 109) and shapes["pool1"] == (96, 54, 54)
    assert shapes["conv2"] == (256, 26, 26) and shapes["pool2"] == (256, 13, 13)
    assert shapes["pool5"] == (512, 6, 6) and shapes["fc6"] == (4096, 1, 1)
    assert shapes["fc7"] == (128, 1, 1) and shapes["fc8"] == (1000, 1, 1)
    assert net.feature_dim == 128 and net.feature_layer == "relu7"
