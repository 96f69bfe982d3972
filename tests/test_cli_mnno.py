"""``crossmodal mnno``: inputs, pairing, output, and error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors
from test_metrics_knn import (
    order_from_distances,
    real_reference_distances,
    reference_knn,
)

from crossmodal import cli


def reference_mnno(V: np.ndarray, Z: np.ndarray, k: int, metric: str = "cosine", include_self: bool = False) -> float:
    nv, nz = reference_knn(V, k, metric, include_self), reference_knn(Z, k, metric, include_self)
    return sum(len(set(a) & set(b)) for a, b in zip(nv.tolist(), nz.tolist(), strict=True)) / (k * len(V))


def run_json(capsys, *argv: str) -> dict:
    assert cli.main(["mnno", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def fail(capsys, *argv: str) -> str:
    """Run expecting an input error; return the single stderr line."""
    assert cli.main(["mnno", *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def write_w2v(path: Path, words: list[str], vectors: np.ndarray, binary: bool) -> None:
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    kv.save_word2vec_format(str(path), binary=binary)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(41)


def test_npy_inputs_text_and_json(tmp_path, capsys, rng) -> None:
    V, Z = rng.standard_normal((60, 5)), rng.standard_normal((60, 7))
    np.save(tmp_path / "a.npy", V)
    np.save(tmp_path / "b.npy", Z)
    assert cli.main(["mnno", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--k", "4"]) == 0
    out = capsys.readouterr().out
    assert "mNNO^4 =" in out and "N=60" in out and "metric=cosine" in out and "self excluded" in out and " s)" in out
    report = run_json(capsys, str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--k", "4", "--metric", "euclidean",
                      "--include-self")
    assert report["mnno"] == reference_mnno(V, Z, 4, "euclidean", True)
    assert (report["k"], report["n"], report["metric"], report["include_self"]) == (4, 60, "euclidean", True)
    assert report["seconds"] >= 0 and report["paired_by"] == "row order"


def test_word2vec_text_and_binary_pair_by_key(tmp_path, capsys, rng) -> None:
    words_a = [f"w{i}" for i in range(50)]
    words_b = [f"w{i}" for i in range(10, 65)][::-1]  # other order, 10 missing, 15 extra
    A, B = rng.standard_normal((50, 6)), rng.standard_normal((55, 4))
    write_w2v(tmp_path / "a.txt", words_a, A, binary=False)
    write_w2v(tmp_path / "b.bin", words_b, B, binary=True)
    report = run_json(capsys, str(tmp_path / "a.txt"), str(tmp_path / "b.bin"), "--k", "5")
    assert (report["paired_by"], report["matched"], report["dropped_a"], report["dropped_b"]) == ("keys", 40, 10, 15)
    shared = [w for w in words_a if w in set(words_b)]
    V = A[[words_a.index(w) for w in shared]].astype(np.float32).astype(np.float64)
    Z = B[[words_b.index(w) for w in shared]].astype(np.float32).astype(np.float64)
    assert report["mnno"] == reference_mnno(V, Z, 5)
    assert cli.main(["mnno", str(tmp_path / "a.txt"), str(tmp_path / "b.bin")]) == 0
    assert "40 matched, 10 dropped from A, 15 dropped from B" in capsys.readouterr().out


def test_csv_key_column_and_tsv(tmp_path, capsys, rng) -> None:
    A, B = rng.standard_normal((30, 3)), rng.standard_normal((30, 4))
    keys = [f"item{i}" for i in range(30)]
    pd.DataFrame(A, index=keys).to_csv(tmp_path / "a.csv", header=False)
    pd.DataFrame(B[::-1], index=keys[::-1]).to_csv(tmp_path / "b.tsv", header=False, sep="\t")
    report = run_json(capsys, str(tmp_path / "a.csv"), str(tmp_path / "b.tsv"), "--k", "3")
    assert report["paired_by"] == "keys" and report["matched"] == 30
    assert report["mnno"] == reference_mnno(A, B, 3)
    # A numeric first column is data under "auto".
    pd.DataFrame(A).to_csv(tmp_path / "plain.csv", header=False, index=False)
    report = run_json(capsys, str(tmp_path / "plain.csv"), str(tmp_path / "a.csv"), "--k", "3")
    assert report["paired_by"] == "row order" and report["mnno"] == 1.0


@pytest.mark.shared_data
def test_iapr_csvs_with_label_column(shared_data, capsys) -> None:
    a = shared_data / "iaprtc12" / "TS_vis_vgg128.csv"
    b = shared_data / "iaprtc12" / "TS_lang_biGRU.csv"
    root = str(shared_data)
    for extra in ([], ["--include-self"]):
        report = run_json(capsys, str(a), str(b), "--first-column", "label", *extra)
        assert report["n"] == 1962 and report["paired_by"] == "row order"
        ov = order_from_distances(real_reference_distances(root, "vgg128", "cosine"), bool(extra))[:, :10]
        oz = order_from_distances(real_reference_distances(root, "biGRU", "cosine"), bool(extra))[:, :10]
        expected = sum(len(set(x) & set(y)) for x, y in zip(ov.tolist(), oz.tolist(), strict=True)) / (10 * 1962)
        assert report["mnno"] == expected
    # Labels are not keys: "auto" reads them as keys and stops at the first repeat.
    err = fail(capsys, str(a), str(b))
    assert "duplicate key" in err and "--first-column label" in err


def test_progress_bar_for_large_n(tmp_path, capsys, rng, monkeypatch) -> None:
    np.save(tmp_path / "a.npy", rng.standard_normal((50, 3)))
    monkeypatch.setattr(cli, "PROGRESS_MIN_N", 40)
    assert cli.main(["mnno", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--k", "3"]) == 0
    assert "kNN tiles" in capsys.readouterr().err
    assert cli.main(["mnno", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--k", "3", "--no-progress"]) == 0
    assert "kNN tiles" not in capsys.readouterr().err


def test_error_paths(tmp_path, capsys, rng) -> None:
    good = tmp_path / "good.npy"
    np.save(good, rng.standard_normal((20, 3)))
    np.save(tmp_path / "short.npy", rng.standard_normal((19, 3)))
    bad = rng.standard_normal((20, 3))
    bad[6, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    zero = rng.standard_normal((20, 3))
    zero[4] = 0.0
    np.save(tmp_path / "zero.npy", zero)
    (tmp_path / "x.parquet").write_text("nope")
    (tmp_path / "x.xyz").write_text("nope")
    (tmp_path / "broken.txt").write_text("this is not word2vec\n")
    (tmp_path / "text.csv").write_text("1,2,3\n4,five,6\n")
    (tmp_path / "empty.csv").write_text("")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    cases = {
        (str(tmp_path / "missing.npy"), str(good)): "no such file",
        (str(tmp_path / "x.xyz"), str(good)): "unknown file type",
        (str(tmp_path / "x.parquet"), str(good)): "not a readable parquet file",
        (str(good), str(tmp_path / "short.npy")): "different row counts",
        (str(tmp_path / "nan.npy"), str(good)): "NaN or Inf values (first bad row: 6)",
        (str(tmp_path / "zero.npy"), str(good)): "zero vector (first at row 4)",
        (str(tmp_path / "broken.txt"), str(good)): "word2vec",
        (str(tmp_path / "text.csv"), str(good)): "row 2 column 2 is not a number",
        (str(tmp_path / "empty.csv"), str(good)): "empty",
        (str(tmp_path / "cube.npy"), str(good)): "2-D",
    }
    for (a, b), message in cases.items():
        err = fail(capsys, a, b, "--first-column", "data" if a.endswith("text.csv") else "auto")
        assert err.startswith("crossmodal mnno: error:") and message in err, err
    assert "too large" in fail(capsys, str(good), str(good), "--k", "20")
    assert "at least 1" in fail(capsys, str(good), str(good), "--k", "0")
    with pytest.raises(SystemExit) as exc:  # argparse rejects an unknown metric itself
        cli.main(["mnno", str(good), str(good), "--metric", "manhattan"])
    assert exc.value.code != 0


def test_module_entry_exits_nonzero_without_traceback(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crossmodal.cli", "mnno", str(tmp_path / "no.npy"), str(tmp_path / "no.npy")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
