"""Every published number of Collell & Moens (2018) beside ours: ``results/tables/comparison.csv``.

One output row per row of the transcribed ``published_tables.csv`` (560: one per printed
number of Tables 1-12). Each row keeps the published row's identifying columns and value, and
adds our value for the same cell when we have one, computed on the data named in
``paper_standins.csv`` (paper data/features -> our dataset/feature keys, with a ``data_note``
saying how ours differs). A published cell with no stand-in, or whose stand-in was not run,
gets ``status`` "not available", an empty value and a ``reason``.

Which of our numbers sits beside a published one
------------------------------------------------
* Experiment 1 (Tables 1, 3-11): the row of ``experiment1_long.csv`` with the stand-in's
  dataset / image feature / text feature (and protocol, when the stand-in names one), the
  same direction, mapping (lin | nn | nn-3 | nn-5), loss (mse | cosine | max-margin) and
  neighbour metric, K = 10 and each point counted among its own neighbours (``self`` =
  include), the convention of every published mNNO. Column ``X,f(X)`` takes
  ``mnno_x_fx_mean``, ``Y,f(X)`` takes ``mnno_y_fx_mean``. Stand-ins are tried in ``priority``
  order (the authors' released features first, then offline stand-ins) and the first with a
  matching row is used, so each published value appears exactly once.
* Experiment 2 (Tables 2, 12): the row of ``table2_long.csv`` / ``table12_long.csv`` with the
  stand-in's embedding key, the same model (f_nn | f_lin | input), benchmark and similarity.

The qualitative finding per cell (``finding_holds``, judged on OUR numbers)
---------------------------------------------------------------------------
* Experiment 1: mNNO(X, f(X)) > mNNO(Y, f(X)) for the pair of values of one row of the paper
  (same data, features, direction, mapping, loss, metric): the mapped vectors keep the
  neighbourhood structure of their inputs more than they take on that of the targets. Both
  values of the pair carry the same flag. Means are compared; whether the per-item difference
  is significant is reported separately (``ours_significant``, on the ``X,f(X)`` value as the
  paper prints its ``*``).
* Experiment 2, mapped rows (f_nn, f_lin): rho(f(X)) >= rho(X) - 0.05, i.e. the untrained
  mapping keeps the input's semantic structure: its correlation with human ratings is within
  0.05 of the input's or above it. Why 0.05: the paper calls all of Tables 2 and 12
  "preserved"; Table 2's largest drop is 0.049 (f_nn(ResNet), WS-353, Euclidean), so 0.05 is
  the smallest round tolerance that admits every Table 2 cell, while a larger one (Table 12's
  0.094 drop for f_nn(VGG-128), SimVerb, Euclidean, which fails this rule and says so in
  ``published_finding_holds``) would call a loss of a tenth of a correlation "kept". The
  ``input`` rows are the reference: their ``finding_holds`` is empty.

``published_finding_holds`` applies the same rule to the published numbers, so a reader can
see where the paper's own cells satisfy it.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from crossmodal.names import DIRECTION_LABELS, PAPER_K

# sha256 of the shipped copy workflow/resources/published_tables.csv, which must be byte-equal
# to ../shared/paper/published_tables.csv (tests/test_comparison.py checks both).
PUBLISHED_SHA256 = "d1d3016aca15cb4c30b25c2c7425bfe00e55c146d166f7c219b0ce05a85d11d3"
N_PUBLISHED = 560

K = PAPER_K  # every published mNNO is mNNO^10
SELF_RULE = "include"  # ... and counts each point among its own neighbours
RHO_TOLERANCE = 0.05  # Experiment 2: rho(f(X)) >= rho(X) - RHO_TOLERANCE

PUBLISHED_KEYS = [
    "table", "experiment", "dataset", "direction", "model", "loss", "neighbours", "text_features",
    "image_features", "embedding", "column", "similarity", "k", "label_note",
]  # fmt: skip
COLUMNS = [
    "table", "experiment", "dataset", "direction", "model", "loss", "neighbours", "text_features",
    "image_features", "embedding", "column", "similarity", "k",
    "published_value", "ours", "delta", "status", "finding", "finding_holds", "published_finding_holds",
    "published_significant", "ours_significant", "ours_std", "our_n", "data_note", "reason", "our_setting",
    "our_dataset", "our_image_feature", "our_text_feature", "our_embedding", "label_note",
]  # fmt: skip
STANDIN_COLUMNS = [
    "experiment", "paper_dataset", "paper_image_features", "paper_text_features", "paper_embedding",
    "priority", "our_dataset", "our_image_feature", "our_text_feature", "our_embedding", "our_protocol",
    "data_note", "reason",
]  # fmt: skip

DIRECTIONS = {label: d for d, label in DIRECTION_LABELS.items()}  # the paper's label -> ours
DIRECTION_ARROWS = {"i2t": "I→T", "t2i": "T→I"}
# The published benchmark labels -> our benchmark keys (the same benchmarks, no stand-in).
BENCHMARKS = {"WS-353": "ws353", "MEN": "men", "SemSim": "semsim", "VisSim": "vissim",
              "SimLex": "simlex999", "SimVerb": "simverb3500"}  # fmt: skip
FINDING_EXP1 = "mNNO(X,f(X)) > mNNO(Y,f(X))"
FINDING_EXP2 = f"rho(f(X)) >= rho(X) - {RHO_TOLERANCE}"
COMPARED, NOT_AVAILABLE = "compared", "not available"


# --- inputs ----------------------------------------------------------------------------------------


def file_sha256(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_published(path: str | os.PathLike[str], expected_sha256: str | None = PUBLISHED_SHA256) -> pd.DataFrame:
    """The transcribed published tables, as printed (strings), checked against its sha256."""
    if expected_sha256 is not None and (actual := file_sha256(path)) != expected_sha256:
        raise ValueError(f"{path}: sha256 {actual} is not the shipped transcription's {expected_sha256}")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in [*PUBLISHED_KEYS, "value", "significant"] if c not in df]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return df


def read_standins(path: str | os.PathLike[str]) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in STANDIN_COLUMNS if c not in df]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    df["priority"] = df["priority"].astype(int)
    return df.sort_values("priority", kind="stable").reset_index(drop=True)


def read_long(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A long results table; labels stay strings, empty numbers become NaN."""
    return pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in _NUMERIC})


def read_comparison(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``comparison.csv`` as written: text as strings, the numbers float (empty -> NaN)."""
    numeric = ["published_value", "ours", "ours_std", "delta"]
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in numeric:
        df[col] = pd.to_numeric(df[col].replace("", np.nan))
    return df


_NUMERIC = [
    "mnno_x_fx_mean", "mnno_x_fx_std", "mnno_y_fx_mean", "mnno_y_fx_std", "rho_mean", "rho_std",
    "n_items_tested", "n_evaluations", "n_pairs", "n_dropped", "k",
]  # fmt: skip


def normalise_experiment1(long: pd.DataFrame) -> pd.DataFrame:
    """``experiment1_long.csv`` (or the older ``table1_long.csv``, which has no ``loss``: MSE)."""
    out = long.copy()
    if "loss" not in out:
        out["loss"] = "mse"
    out["k"] = pd.to_numeric(out["k"]).astype(int)
    for col in ("dataset", "image_feature", "text_feature", "direction", "mapping", "loss", "metric", "self", "protocol"):
        out[col] = out[col].astype(str)
    return out


EXPERIMENT2_KEYS = ["embedding", "embedding_label", "model", "benchmark", "benchmark_label", "benchmark_source",
                    "similarity", "rho_mean", "rho_std", "n_seeds", "n_pairs", "n_dropped", "significant"]  # fmt: skip


def normalise_experiment2(*tables: pd.DataFrame) -> pd.DataFrame:
    """``table2_long.csv`` and ``table12_long.csv`` stacked; ``available``/``reason`` filled."""
    frames = [pd.DataFrame(columns=[*EXPERIMENT2_KEYS, "available", "reason", "slot_key"])]
    for t in tables:
        t = t.copy()
        if "available" not in t:
            t["available"] = True
        if "reason" not in t:
            t["reason"] = ""
        t["available"] = t["available"].map(_as_bool)
        t["reason"] = t["reason"].fillna("").astype(str)
        t["embedding"] = t["embedding"].fillna("").astype(str)
        # Table 12's rows fill the paper's word2vec / VGG-128 slots: look-ups by "table12:<slot>"
        t["slot_key"] = ("table12:" + t["slot"].astype(str)) if "slot" in t else ""
        frames.append(t)
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def _as_bool(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value).strip().lower() in ("true", "1", "yes")


# --- matching --------------------------------------------------------------------------------------


def _standins_for(standins: pd.DataFrame, experiment: str, **paper: str) -> pd.DataFrame:
    sel = standins["experiment"] == experiment
    for col, value in paper.items():
        sel &= standins[col] == value
    return standins[sel]


class _Index:
    """Rows of a long table by key, so that each of the 560 look-ups is a dict access."""

    def __init__(self, long: pd.DataFrame, keys: list[str]) -> None:
        self.rows: dict[tuple, list[dict]] = {}
        for rec in long.to_dict("records"):
            self.rows.setdefault(tuple(rec[k] for k in keys), []).append(rec)

    def get(self, *key: object) -> list[dict]:
        return self.rows.get(tuple(key), [])


class _Lookup:
    """Experiment 2 rows by embedding key, or by ``table12:<slot>`` for Table 12's slots."""

    def __init__(self, by_embedding: _Index, by_slot: _Index) -> None:
        self.by_embedding, self.by_slot = by_embedding, by_slot

    def get(self, key: str, *rest: object) -> list[dict]:
        return (self.by_slot if key.startswith("table12:") else self.by_embedding).get(key, *rest)


_EXP1_KEYS = ["dataset", "image_feature", "text_feature", "direction", "mapping", "loss", "metric", "k", "self"]
_EXP2_KEYS = ["embedding", "benchmark", "similarity", "model"]
_SLOT_KEYS = ["slot_key", "benchmark", "similarity", "model"]


def _experiment1_candidates(index: _Index, standin: pd.Series, pub: pd.Series) -> list[dict]:
    rows = index.get(standin["our_dataset"], standin["our_image_feature"], standin["our_text_feature"],
                     DIRECTIONS[pub["direction"]], pub["model"], pub["loss"], pub["neighbours"], int(pub["k"] or K),
                     SELF_RULE)  # fmt: skip
    if standin["our_protocol"]:
        rows = [r for r in rows if r["protocol"] == standin["our_protocol"]]
    return rows


def _experiment1_has_data(present: set[tuple], standin: pd.Series) -> bool:
    key = (standin["our_dataset"], standin["our_image_feature"], standin["our_text_feature"])
    return (*key, standin["our_protocol"]) in present if standin["our_protocol"] else key in present


def _setting_exp1(row: dict) -> str:
    return (
        f"{row['dataset_label']} · {row['image_label']} / {row['text_label']} · {DIRECTION_ARROWS[row['direction']]} · "
        f"{row['mapping']}, {row['loss']} loss · {row['metric']} neighbours, K={int(row['k'])}, self counted · "
        f"mean of {int(row['n_evaluations'])} evaluations over {int(row['n_items_tested'])} test items"
    )


def _label_note(pub: pd.Series) -> str:
    if not pub["label_note"]:
        return ""
    return " The paper's nn-3/nn-5 label of this value is uncertain (see label_note)."


def _compare_experiment1(pub: pd.Series, long: _Index, present: set[tuple], standins: pd.DataFrame) -> dict:
    cands = _standins_for(standins, "1", paper_dataset=pub["dataset"], paper_image_features=pub["image_features"],
                          paper_text_features=pub["text_features"])  # fmt: skip
    x_col = pub["column"] == "X,f(X)"
    tried = []
    for _, s in cands.iterrows():
        if not s["our_dataset"]:
            continue
        rows = _experiment1_candidates(long, s, pub)
        if not rows:
            if _experiment1_has_data(present, s):
                tried.append(f"{s['our_dataset']}/{s['our_image_feature']}/{s['our_text_feature']}")
            continue
        if len(rows) > 1:
            raise ValueError(f"{len(rows)} rows of the Experiment 1 table match one published cell: {pub.to_dict()}")
        r = rows[0]
        x, y = float(r["mnno_x_fx_mean"]), float(r["mnno_y_fx_mean"])
        return {
            "status": COMPARED,
            "ours": x if x_col else y,
            "ours_std": float(r["mnno_x_fx_std"] if x_col else r["mnno_y_fx_std"]),
            "ours_significant": _bool_str(r["significant"]) if x_col else "",
            "our_n": int(r["n_items_tested"]),
            "our_setting": _setting_exp1(r),
            "our_dataset": s["our_dataset"],
            "our_image_feature": s["our_image_feature"],
            "our_text_feature": s["our_text_feature"],
            "finding_holds": x > y,
            "data_note": s["data_note"] + _label_note(pub),
        }
    setting = f"{pub['model']}, {pub['loss']} loss, {pub['neighbours']} neighbours, K={pub['k']}, self counted"
    return {"status": NOT_AVAILABLE, "reason": _reason(cands, tried, setting, "experiment1_long.csv has")}


def _reason(cands: pd.DataFrame, tried: list[str], setting: str, where: str) -> str:
    """Why a published cell has no value of ours.

    ``tried``: the stand-ins that have results in our table but not for this cell's setting.
    Without any, the stand-ins' data were not run at all (dataset not enabled, inputs not at
    hand) and the reason is the stand-in file's own (no stand-in offline: why).
    """
    fallback = [s["reason"] for _, s in cands.iterrows() if s["reason"]]
    if tried:
        return f"not run: {where} results for {', '.join(tried)}, but none with {setting}"
    if fallback:
        return fallback[0]
    named = [s["our_dataset"] or s["our_embedding"] for _, s in cands.iterrows()]
    if named:
        return f"stand-in not run ({', '.join(named)}: no results) and no reason given in paper_standins.csv"
    return "no row for these data in paper_standins.csv"


def _compare_experiment2(pub: pd.Series, long: _Lookup, embeddings: set[str], standins: pd.DataFrame) -> dict:
    paper_embedding = pub["text_features"] or pub["image_features"]
    cands = _standins_for(standins, "2", paper_embedding=paper_embedding)
    bench = BENCHMARKS[pub["column"]]
    tried, unavailable = [], []
    for _, s in cands.iterrows():
        if not s["our_embedding"]:
            continue
        key = s["our_embedding"]
        rows = long.get(key, bench, pub["similarity"], pub["model"])
        if not rows:
            if s["our_embedding"] in embeddings:
                tried.append(s["our_embedding"])
            continue
        r = rows[0]
        if not r["available"] or pd.isna(r["rho_mean"]):
            where = f"experiment2.table12.{key.split(':', 1)[1]}" if key.startswith("table12:") else key
            unavailable.append(f"{r['embedding'] or where}: {r['reason'] or 'no rho'}")
            continue
        rho = float(r["rho_mean"])
        out = {
            "status": COMPARED,
            "ours": rho,
            "ours_std": float(r["rho_std"]) if pd.notna(r["rho_std"]) else np.nan,
            "ours_significant": _bool_str(r["significant"]) if pub["model"] != "input" else "",
            "our_n": int(r["n_pairs"]),
            "our_setting": (
                f"{_row_label(pub['model'], r['embedding_label'])} · {r['benchmark_label']} "
                f"({r['benchmark_source']}; {int(r['n_pairs'])} pairs, {int(r['n_dropped'])} dropped as out of vocabulary) · "
                f"{pub['similarity']} similarity"
                + (f" · mean of {int(r['n_seeds'])} random draws" if pub["model"] != "input" else "")
            ),
            "our_embedding": r["embedding"],
            "data_note": s["data_note"] + _slot_note(key, r) + _coverage_note(r),
        }
        if pub["model"] != "input":
            ref = long.get(key, bench, pub["similarity"], "input")
            ok = bool(ref) and pd.notna(ref[0]["rho_mean"])
            out["finding_holds"] = rho - float(ref[0]["rho_mean"]) >= -RHO_TOLERANCE - 1e-12 if ok else None
        return out
    if unavailable:
        return {"status": NOT_AVAILABLE, "reason": "; ".join(unavailable)}
    setting = f"{pub['model']} on {pub['column']} with {pub['similarity']} similarity"
    return {"status": NOT_AVAILABLE, "reason": _reason(cands, tried, setting, "table2_long.csv / table12_long.csv hold")}


def _slot_note(key: str, row: dict) -> str:
    if not key.startswith("table12:"):
        return ""
    return f": here {row['embedding_label']} ({row['embedding']}, experiment2.table12.{key.split(':', 1)[1]})"


def _coverage_note(row: dict) -> str:
    dropped = int(row["n_dropped"])
    if not dropped:
        return ""
    return f"; our vectors cover {int(row['n_pairs'])} of {int(row['n_pairs']) + dropped} benchmark pairs"


def _row_label(model: str, label: str) -> str:
    return label if model == "input" else f"{model}({label})"


def _bool_str(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return ""
    return "true" if _as_bool(value) else "false"


# --- the published finding ---------------------------------------------------------------------------


def published_finding(published: pd.DataFrame) -> pd.Series:
    """The finding rule applied to the published numbers, per published row (True/False/None)."""
    value = published["value"].astype(float)
    out = pd.Series([None] * len(published), index=published.index, dtype=object)
    # Experiment 1: each printed X,f(X) value is followed by its Y,f(X) partner (published order;
    # grouping by keys would fail where Tables 3-4 print the same nn-3/nn-5 label twice).
    pair_keys = ["table", "dataset", "direction", "model", "loss", "neighbours", "text_features", "image_features"]
    for a, b in itertools.pairwise(published.index):
        first, second = published.loc[a], published.loc[b]
        if (first["experiment"] == "1" and first["column"] == "X,f(X)" and second["column"] == "Y,f(X)"
                and all(first[c] == second[c] for c in pair_keys)):  # fmt: skip
            out[a] = out[b] = bool(value[a] > value[b])
    exp2 = published["experiment"] == "2"
    cell_keys = ["table", "text_features", "image_features", "column", "similarity"]
    for idx in published[exp2].groupby(cell_keys, sort=False).groups.values():
        models = published.loc[idx, "model"]
        ref = value[idx][models == "input"]
        if len(ref) != 1:
            continue
        for i in idx:
            if published.at[i, "model"] != "input":
                out[i] = bool(value[i] - ref.iloc[0] >= -RHO_TOLERANCE - 1e-12)
    return out


# --- the comparison ----------------------------------------------------------------------------------


def compare(
    published: pd.DataFrame,
    standins: pd.DataFrame,
    experiment1: pd.DataFrame,
    experiment2: pd.DataFrame,
) -> pd.DataFrame:
    """One row per published row, in published order, with ours beside it (see the module doc)."""
    exp1 = normalise_experiment1(experiment1)
    exp2 = normalise_experiment2(experiment2)
    index1 = _Index(exp1, _EXP1_KEYS)
    present = {*zip(exp1["dataset"], exp1["image_feature"], exp1["text_feature"]),
               *zip(exp1["dataset"], exp1["image_feature"], exp1["text_feature"], exp1["protocol"])}  # fmt: skip
    index2 = _Lookup(_Index(exp2, _EXP2_KEYS), _Index(exp2[exp2["slot_key"] != ""], _SLOT_KEYS))
    embeddings = {*exp2["embedding"], *exp2["slot_key"]} - {""}
    records = []
    for _, pub in published.iterrows():
        if pub["experiment"] == "1":
            ours = _compare_experiment1(pub, index1, present, standins)
            finding = FINDING_EXP1
        elif pub["experiment"] == "2":
            ours = _compare_experiment2(pub, index2, embeddings, standins)
            finding = FINDING_EXP2 if pub["model"] != "input" else ""
        else:
            raise ValueError(f"unknown experiment {pub['experiment']!r} in published row {pub.to_dict()}")
        rec = {c: pub[c] for c in PUBLISHED_KEYS}
        rec["published_value"] = float(pub["value"])
        rec["published_significant"] = pub["significant"]
        rec["finding"] = finding
        rec.update(ours)
        records.append(rec)
    out = pd.DataFrame.from_records(records)
    for col in COLUMNS:
        if col not in out:
            out[col] = np.nan if col in ("ours", "ours_std", "delta") else ""
    out["delta"] = out["ours"] - out["published_value"]
    out["published_finding_holds"] = [_bool_str(v) for v in published_finding(published).to_numpy()]
    out["finding_holds"] = [_bool_str(v) if out.at[i, "finding"] else "" for i, v in enumerate(out["finding_holds"])]
    out["our_n"] = out["our_n"].map(lambda v: "" if v == "" or pd.isna(v) else str(int(v)))
    for col in ("ours_significant", "our_setting", "our_dataset", "our_image_feature", "our_text_feature",
                "our_embedding", "data_note", "reason"):  # fmt: skip
        out[col] = out[col].fillna("").astype(str)
    return out[COLUMNS]


def missing_notes(comparison: pd.DataFrame) -> pd.DataFrame:
    """Rows that break the rule "never our number under a paper name without a note"."""
    has_value = comparison["ours"].notna()
    return comparison[(has_value & (comparison["data_note"].str.strip() == ""))
                      | (~has_value & (comparison["reason"].str.strip() == ""))]  # fmt: skip


def summarise_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """Per published table: how many values, how many we compared, the finding, median |delta|.

    Columns: table, n_published (printed values), n_compared (values with ours beside them),
    n_finding_tested (compared values to which a finding applies: all of Experiment 1, the mapped
    rows of Experiment 2), n_finding_holds (of those, where the finding holds for our numbers;
    an Experiment 1 pair counts as its two values), median_abs_delta (median |ours - published|
    over the compared values; NaN when none).
    """
    rows = []
    for table, g in df.groupby(df["table"].astype(str), sort=False):
        compared = g["ours"].notna()
        # "true"/"false"/"" as written, or True/False/NaN when read back by pandas
        flag = g["finding_holds"].map(lambda v: "" if pd.isna(v) else str(v).lower())
        tested = compared & (flag != "")
        holds = tested & (flag == "true")
        deltas = g.loc[compared, "delta"].abs()
        rows.append({
            "table": table,
            "n_published": len(g),
            "n_compared": int(compared.sum()),
            "n_finding_tested": int(tested.sum()),
            "n_finding_holds": int(holds.sum()),
            "median_abs_delta": float(deltas.median()) if len(deltas) else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)
