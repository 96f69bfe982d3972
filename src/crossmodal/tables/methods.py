"""Tables 13 and 14: the field's cross-modal methods and the paper's remedies, through the mNNO lens
and by retrieval. Input: the per-dataset CSVs of ``crossmodal.experiments.methods``.

Table 13: one row per dataset x features x method x direction at one (metric, K, self rule):
mNNO(X, F), mNNO(Y-role, F), mNNO(X, Y), the difference (Y-role − X) with its bootstrap interval,
the paper's rank-sum p Bonferroni-adjusted over the table, and ``bridges``: the difference is
positive and significant (then F is nearer the other modality's neighbourhoods than its input's).
Table 14: retrieval mAP I->T and T->I per dataset x features x method, cosine and CSLS, with R@K
and hubness, and the webinar's published values for the same method name beside them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crossmodal.metrics.significance import bonferroni

KEY = ["dataset", "dataset_label", "image_feature", "image_label", "text_feature", "text_label", "method", "family"]


def recall_ks(retrieval: pd.DataFrame) -> list[int]:
    """The K of the R@K columns (``r1``, ``r5``, ...) a retrieval frame holds, in its order."""
    return [int(c[1:]) for c in retrieval.columns if c[:1] == "r" and c[1:].isdigit()]


def table13(mnno: pd.DataFrame, metric: str, k: int, self_rule: str, alpha: float) -> pd.DataFrame:
    """The mNNO lens at one (metric, K, self rule); ``p_adjusted`` is Bonferroni over its rows."""
    sel = mnno[(mnno["metric"] == metric) & (mnno["k"] == k) & (mnno["self"] == self_rule)]
    if sel.empty:
        raise ValueError(f"no method scores for metric={metric}, k={k}, self={self_rule}")
    out = sel[[*KEY, "direction", "y_role", "n_test", "mnno_x_fx", "mnno_y_fx", "mnno_x_y", "diff", "diff_ci_lo",
               "diff_ci_hi", "p_rank_sum", "p_paired", "chance"]].reset_index(drop=True)
    out.insert(len(KEY) + 2, "metric", metric)
    out.insert(len(KEY) + 3, "k", k)
    out.insert(len(KEY) + 4, "self", self_rule)
    out["p_adjusted"] = bonferroni(out["p_rank_sum"].to_numpy(dtype=np.float64))
    out["bridges"] = (out["diff"] > 0) & (out["p_adjusted"] < alpha)
    out["keeps_input"] = (out["diff"] < 0) & (out["p_adjusted"] < alpha)
    return out


def table14(retrieval: pd.DataFrame, published: pd.DataFrame, recall_ks: Sequence[int]) -> pd.DataFrame:
    """Retrieval per dataset x features x method: mAP and R@K for I->T and T->I, cosine and CSLS,
    hubness of the gallery, and the published mAP of the same method (Wikipedia, CNN features)."""
    rows = []
    for key, block in retrieval.groupby(KEY, sort=False):
        row: dict[str, object] = dict(zip(KEY, key))
        for _, r in block.iterrows():
            tag = f"{'i2t' if r['query'] == 'I->T' else 't2i'}_{r['scoring']}"
            row[f"{tag}_map"] = r["map"]
            for kk in recall_ks:
                row[f"{tag}_r{kk}"] = r[f"r{kk}"]
            if r["scoring"] == "cosine":
                row[f"{tag.split('_')[0]}_hub_skewness"] = r["hub_skewness"]
        # the published figures are for Wikipedia: beside another dataset's row they would mislead
        pub = published[(published["method"] == row["method"]) & (row["dataset"] == "wikipedia")]
        row["published_i2t_map"] = float(pub["i2t_map"].iloc[0]) if len(pub) else np.nan
        row["published_t2i_map"] = float(pub["t2i_map"].iloc[0]) if len(pub) else np.nan
        row["data_note"] = data_note(str(row["dataset"]), str(row["image_feature"]), str(row["text_feature"]), bool(len(pub)))
        rows.append(row)
    return pd.DataFrame(rows)


def data_note(dataset: str, image: str, text: str, published: bool) -> str:
    """What differs from the published figures beside a row."""
    if dataset != "wikipedia":
        return f"{dataset}: {image} / {text}; the published figures are for Wikipedia only"
    if not published:
        return f"{dataset}: {image} / {text}; no published figure for this method"
    return (f"Wikipedia official 2,173/693 split with the dataset's {image} image features and {text} texts; "
            "the published figure used CNN image features (and its own text features), so only the ranking is comparable")


def bridging_vs_retrieval(t13: pd.DataFrame, t14: pd.DataFrame) -> pd.DataFrame:
    """One point per method and dataset x features: mNNO(Y-role, F) − mNNO(X, F) averaged over the
    directions, against retrieval mAP (cosine) averaged over I->T and T->I."""
    diff = t13.groupby(KEY, sort=False)["diff"].mean().rename("bridging")
    mean_map = t14.set_index(KEY)[["i2t_cosine_map", "t2i_cosine_map"]].mean(axis=1).rename("map")
    return pd.concat([diff, mean_map], axis=1, join="inner").reset_index()
