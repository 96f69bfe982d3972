"""PairedSet: validation and the .npz round trip."""

from __future__ import annotations

import numpy as np
import pytest

from crossmodal.datasets.paired import DatasetHeader, PairedSet, load_paired, save_paired


def _make(n: int = 5, with_labels: bool = True, **kw) -> PairedSet:
    rng = np.random.default_rng(0)
    args = dict(
        image=rng.standard_normal((n, 4)),
        text=rng.standard_normal((n, 3)),
        keys=[f"w{i}" for i in range(n)],
        labels=[tuple(range(i % 3)) for i in range(n)] if with_labels else None,
        name="toy",
        description="toy rows",
        image_feature="img",
        text_feature="txt",
        meta={"source": "test", "list": [1, 2]},
    )
    args.update(kw)
    return PairedSet(**args)


def test_coerces_to_float32_and_reports_dims() -> None:
    ps = _make()
    assert ps.image.dtype == np.float32 and ps.text.dtype == np.float32
    assert (len(ps), ps.image_dim, ps.text_dim) == (5, 4, 3)
    assert ps.labels is not None and ps.labels[2] == (0, 1)


def test_row_count_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="paired"):
        _make(text=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="keys"):
        _make(keys=["a", "b"])
    with pytest.raises(ValueError, match="label"):
        _make(labels=[(1,)])


@pytest.mark.parametrize("which", ["image", "text"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e300])  # 1e300 overflows float32 to inf
def test_nonfinite_names_first_bad_row(which: str, bad: float) -> None:
    rng = np.random.default_rng(1)
    arr = rng.standard_normal((6, 3))
    arr[4, 1] = bad
    arr[5, 0] = bad
    with pytest.raises(ValueError, match=rf"{which} row 4 \(key 'w4'\)"):
        _make(n=6, **{which: arr})


def test_duplicate_keys_rejected() -> None:
    with pytest.raises(ValueError, match="'w0' repeats at row 3"):
        _make(n=4, keys=["w0", "w1", "w2", "w0"])


@pytest.mark.parametrize("labels", [True, False])
def test_save_load_round_trip(tmp_path, labels: bool) -> None:
    ps = _make(with_labels=labels)
    target = tmp_path / "sub" / "set.npz"
    save_paired(ps, target)
    assert [p.name for p in target.parent.iterdir()] == ["set.npz"]  # no temp file left behind
    back = load_paired(target)
    np.testing.assert_array_equal(back.image, ps.image)
    np.testing.assert_array_equal(back.text, ps.text)
    assert back.image.dtype == np.float32
    assert back.keys == ps.keys and back.labels == ps.labels
    assert (back.name, back.description, back.image_feature, back.text_feature, back.meta) == (
        ps.name, ps.description, ps.image_feature, ps.text_feature, ps.meta)


def test_failed_save_leaves_old_file(tmp_path) -> None:
    target = tmp_path / "set.npz"
    _make().save(target)
    before = target.read_bytes()
    bad = _make(meta={"not_json": object()})
    with pytest.raises(TypeError):
        bad.save(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["set.npz"]


def test_subset_keeps_rows_in_given_order() -> None:
    ps = _make()
    sub = ps.subset([3, 1])
    assert sub.keys == ["w3", "w1"] and sub.labels == [ps.labels[3], ps.labels[1]]
    np.testing.assert_array_equal(sub.image, ps.image[[3, 1]])


HEADER = DatasetHeader(protocol="split", n_train=3, family="iaprtc", dataset_label="Toy", split_label="3/2 split",
                       image_label="img, 4-d", text_label="txt, 3-d")


def test_typed_header_round_trips_and_is_required_where_read(tmp_path) -> None:
    ps = _make(header=HEADER)
    save_paired(ps, tmp_path / "h.npz")
    assert load_paired(tmp_path / "h.npz").experiment1 == HEADER
    with pytest.raises(ValueError, match="toy: no dataset header"):
        _ = _make().experiment1
    assert ps.subset([0, 1]).header is None  # a subset no longer follows the set's protocol


@pytest.mark.parametrize(("protocol", "n_train", "message"), [
    ("holdout", 3, "protocol must be one of"),
    ("split", 5, "a split needs 0 < n_train < 5"),
    ("split", 0, "a split needs 0 < n_train < 5"),
    ("cv", 2, "a cv set has n_train 0"),
])
def test_header_that_the_rows_cannot_follow_is_refused(protocol, n_train, message) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match=message):
        _make(header=replace(HEADER, protocol=protocol, n_train=n_train))
