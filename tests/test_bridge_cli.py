"""``crossmodal bridge``: readers of every format, pairing, one-line errors, outputs."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.io
from gensim.models import KeyedVectors
from test_bridge import ref_nno

from crossmodal import cli
from crossmodal.datasets.embedding_files import MIN_KEY_OVERLAP, load_embeddings

QUICK = ["--permutations", "20", "--bootstrap", "50"]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(21)


def run_json(capsys, *argv: str) -> dict:
    assert cli.main(["bridge", *argv, "--json", *QUICK]) == 0
    return json.loads(capsys.readouterr().out)


def fail(capsys, *argv: str) -> str:
    assert cli.main(["bridge", *argv, *QUICK]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and err.startswith("crossmodal bridge: error:"), err
    return err


def write_glove(path, words, vectors, trailing_space=False) -> None:
    end = " \n" if trailing_space else "\n"
    path.write_text("".join(w + " " + " ".join(repr(float(v)) for v in row) + end for w, row in zip(words, vectors)),
                    encoding="utf-8")


# ------------------------------------------------------------------------------- readers


def test_glove_text_without_header(tmp_path, rng) -> None:
    words = ["the", "nan", "1", "null", "t-shirt", "naïve", "#", '"quoted"']
    V = rng.standard_normal((len(words), 5)).astype(np.float32)
    for trailing in (False, True):
        write_glove(tmp_path / "g.txt", words, V, trailing)
        t = load_embeddings(tmp_path / "g.txt")
        assert t.keys == words and t.vectors.dtype == np.float32
        np.testing.assert_array_equal(t.vectors, V)


def test_word2vec_text_fasttext_vec_and_binary(tmp_path, rng) -> None:
    words = [f"w{i}" for i in range(12)]
    V = rng.standard_normal((12, 4))
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(words, V)
    kv.save_word2vec_format(str(tmp_path / "a.txt"), binary=False)
    kv.save_word2vec_format(str(tmp_path / "a.vec"), binary=False)  # fastText .vec: the same layout
    kv.save_word2vec_format(str(tmp_path / "a.bin"), binary=True)
    for name in ("a.txt", "a.vec", "a.bin"):
        t = load_embeddings(tmp_path / name)
        assert t.keys == words
        np.testing.assert_array_equal(t.vectors, V.astype(np.float32))


def test_npy_is_memory_mapped_and_npz_selects_arrays(tmp_path, rng) -> None:
    A, B = rng.standard_normal((10, 3)).astype(np.float32), rng.standard_normal((10, 2))
    np.save(tmp_path / "a.npy", A)
    t = load_embeddings(tmp_path / "a.npy")
    assert isinstance(t.vectors, np.memmap) and t.keys is None
    np.testing.assert_array_equal(t.vectors, A)
    np.savez(tmp_path / "one.npz", only=A)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "one.npz").vectors, A)
    np.savez(tmp_path / "two.npz", image=A, text=B, ids=np.arange(10))
    np.testing.assert_array_equal(load_embeddings(f"{tmp_path / 'two.npz'}:text").vectors, B)
    with pytest.raises(ValueError, match=r"several arrays \(ids 10, image 10x3, text 10x2\); choose one as .*two.npz:image"):
        load_embeddings(tmp_path / "two.npz")
    with pytest.raises(ValueError, match="no array 'words'"):
        load_embeddings(f"{tmp_path / 'two.npz'}:words")


def test_csv_tsv_keyed_unkeyed_and_header(tmp_path, rng) -> None:
    A = rng.standard_normal((6, 3))
    keys = [f"k{i}" for i in range(6)]
    pd.DataFrame(A, index=keys).to_csv(tmp_path / "keyed.csv", header=False)
    pd.DataFrame(A).to_csv(tmp_path / "plain.tsv", header=False, index=False, sep="\t")
    pd.DataFrame(A, index=pd.Index(keys, name="word"), columns=["a", "b", "c"]).to_csv(tmp_path / "header.csv")
    for name, expect_keys in (("keyed.csv", keys), ("plain.tsv", None), ("header.csv", keys)):
        t = load_embeddings(tmp_path / name)
        assert t.keys == expect_keys, name
        np.testing.assert_array_equal(t.vectors, A)


def test_parquet_list_column_and_numeric_columns(tmp_path, rng) -> None:
    A = rng.standard_normal((7, 4))
    keys = [f"item{i}" for i in range(7)]
    pq.write_table(pa.table({"key": keys, "vector": [list(r) for r in A]}), tmp_path / "lists.parquet")
    pq.write_table(pa.table({f"d{j}": A[:, j] for j in range(4)}), tmp_path / "cols.parquet")
    t = load_embeddings(tmp_path / "lists.parquet")
    assert t.keys == keys
    np.testing.assert_array_equal(t.vectors, A)
    t = load_embeddings(tmp_path / "cols.parquet")
    assert t.keys is None
    np.testing.assert_array_equal(t.vectors, A)
    pq.write_table(pa.table({"vector": [[1.0, 2.0], [3.0]]}), tmp_path / "ragged.parquet")
    with pytest.raises(ValueError, match="ragged rows: row 2 has 1 values"):
        load_embeddings(tmp_path / "ragged.parquet")


def test_mat_two_variables_and_v73(tmp_path, rng) -> None:
    A, B = rng.standard_normal((8, 3)), rng.standard_normal((8, 5))
    scipy.io.savemat(tmp_path / "two.mat", {"I_te": A, "T_te": B})
    np.testing.assert_array_equal(load_embeddings(f"{tmp_path / 'two.mat'}:T_te").vectors, B)
    with pytest.raises(ValueError, match=r"holds several variables \(I_te 8x3, T_te 8x5\); choose one as"):
        load_embeddings(tmp_path / "two.mat")
    scipy.io.savemat(tmp_path / "one.mat", {"X": A})
    np.testing.assert_array_equal(load_embeddings(tmp_path / "one.mat").vectors, A)
    # a v7.3 file is HDF5 with a MATLAB header whose version field is 0x0200
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    (tmp_path / "v73.mat").write_bytes(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM" + b"\0" * 512)
    with pytest.raises(ValueError, match=r"v7.3 \(HDF5\) files are not supported"):
        load_embeddings(tmp_path / "v73.mat")


# ---------------------------------------------------------------------- pairing and errors


def test_glove_pairs_by_key_with_counts_and_matches_reference(tmp_path, capsys, rng) -> None:
    """The issue's failing example: a CSV of visual vectors against a headerless GloVe file."""
    words = [f"w{i}" for i in range(80)]
    G = rng.standard_normal((80, 6)).astype(np.float32)
    write_glove(tmp_path / "glove.txt", words, G)
    vis_words = words[5:65][::-1] + ["unknown1", "unknown2"]
    V = rng.standard_normal((len(vis_words), 4))
    pd.DataFrame(V, index=vis_words).to_csv(tmp_path / "vis.csv", header=False)
    assert cli.main(["mnno", str(tmp_path / "vis.csv"), str(tmp_path / "glove.txt")]) == 0
    assert "60 matched, 2 dropped from A, 20 dropped from B" in capsys.readouterr().out
    F = rng.standard_normal((len(vis_words), 6))
    pd.DataFrame(F, index=vis_words).to_csv(tmp_path / "f.csv", header=False)
    assert cli.main(["bridge", str(tmp_path / "vis.csv"), str(tmp_path / "glove.txt"), "--f", str(tmp_path / "f.csv"),
                     "--k", "5", "--json", *QUICK]) == 0
    captured = capsys.readouterr()
    assert "paired by key: 60 matched, 2 dropped from" in captured.err
    report = json.loads(captured.out)
    shared = words[5:65][::-1]
    Xr, Yr, Fr = V[:60], G[[words.index(w) for w in shared]].astype(np.float64), F[:60]
    assert report["n"] == 60
    assert report["mnno_x_f"] == ref_nno(Xr, Fr, 5, "cosine", False).sum() / 300
    assert report["mnno_y_f"] == ref_nno(Yr, Fr, 5, "cosine", False).sum() / 300
    assert report["setup"]["pairing"] == {"by": "keys", "matched": 60, "dropped_x": 2, "dropped_y": 20}


def test_key_overlap_floor(tmp_path, capsys, rng) -> None:
    a_words = [f"a{i}" for i in range(40)]
    b_words = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(35)]
    pd.DataFrame(rng.standard_normal((40, 3)), index=a_words).to_csv(tmp_path / "a.csv", header=False)
    pd.DataFrame(rng.standard_normal((40, 3)), index=b_words).to_csv(tmp_path / "b.csv", header=False)
    err = fail(capsys, str(tmp_path / "a.csv"), str(tmp_path / "b.csv"))
    assert "only 5 keys match (12.5% of the smaller file's 40" in err and f"{MIN_KEY_OVERLAP:.0%}" in err
    report = run_json(capsys, str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--min-overlap", "0.1",
                      "--k", "1", "--mapper", "ridge", "--folds", "2")
    assert report["n"] == 5 and report["setup"]["pairing"]["dropped_y"] == 35


def test_bad_inputs_one_line_errors(tmp_path, capsys, rng) -> None:
    good = rng.standard_normal((30, 3))
    np.save(tmp_path / "good.npy", good)
    nan = good.copy()
    nan[9, 2] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.save(tmp_path / "f_inf.npy", np.where(np.arange(30)[:, None] == 3, np.inf, good))
    zero = good.copy()
    zero[11] = 0
    np.save(tmp_path / "zero.npy", zero)
    (tmp_path / "ragged.csv").write_text("a,1,2,3\nb,4,5\nc,6,7,8\n")
    (tmp_path / "ragged.txt").write_text("a 1 2 3\nb 4 5\nc 6 7 8\n")
    (tmp_path / "dup.csv").write_text("a,1,2\nb,3,4\na,5,6\n")
    g = str(tmp_path / "good.npy")
    cases = {
        (str(tmp_path / "nan.npy"), g): "nan.npy: NaN or Inf values (first bad row: 9)",
        (g, g, "--f", str(tmp_path / "f_inf.npy")): "f_inf.npy: NaN or Inf values (first bad row: 3)",
        (str(tmp_path / "zero.npy"), g): "zero.npy: zero vector (first at row 11)",
        (str(tmp_path / "ragged.csv"), g): "ragged rows: row 2 has 3 fields, expected 4",
        (str(tmp_path / "ragged.txt"), g): "ragged",
        (str(tmp_path / "dup.csv"), g): "duplicate key 'a' (rows 1 and 3)",
        (g, g, "--k", "6"): "K=6 is too large: the smallest of the 5 held-out folds has N=6 items",
        (g, g, "--f", g, "--k", "30"): "K=30 is too large: the evaluation set has N=30 items",
        (g, str(tmp_path / "missing.npy")): "missing.npy: no such file",
        (g, g, "--k", "x"): "--k takes integers",
    }
    for argv, message in cases.items():
        err = fail(capsys, *argv)
        assert message in err, (message, err)


def test_k_lists_and_outputs(tmp_path, capsys, rng) -> None:
    X, Y = rng.standard_normal((60, 5)), rng.standard_normal((60, 4))
    Y[:, :2] += X[:, :2]
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    a = run_json(capsys, str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--k", "5,3")
    b = run_json(capsys, str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--k", "5", "--k", "3")
    assert a == b and a["k"] == 5 and list(a["by_k"]) == ["5", "3"]
    out = tmp_path / "report"
    assert cli.main(["bridge", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--k", "5,3", "--out", str(out),
                     *QUICK]) == 0
    text = capsys.readouterr().out
    assert "verdict (K=5):" in text and "R@1" in text and "CSLS" in text and "anti-hubs" in text
    assert sorted(p.name for p in out.iterdir()) == ["bridge.html", "bridge.json", "mnno_vs_k.png", "per_item.csv"]
    saved = json.loads((out / "bridge.json").read_text())
    assert saved == a
    per = pd.read_csv(out / "per_item.csv")
    assert list(per.columns) == ["item", "fold", "nno_x_f_k5", "nno_y_f_k5", "nno_x_y_k5", "nno_x_f_k3", "nno_y_f_k3",
                                 "nno_x_y_k3", "rank_nn", "rank_csls", "n_k"]
    assert per["nno_x_f_k5"].sum() / (5 * 60) == saved["mnno_x_f"]
    assert np.mean(per["rank_nn"] == 1) == saved["retrieval"]["nn"]["r1"]
    png = (out / "mnno_vs_k.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    page = (out / "bridge.html").read_text()
    assert base64.b64encode(png).decode() in page and "per_item.csv" in page and saved["verdict"] in page
    assert not list(out.glob(".*part*"))  # atomic writes leave no temporary files
