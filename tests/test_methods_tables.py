"""Tables 13 and 14 from the per-dataset method results (crossmodal.tables.methods), the figure and the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossmodal.figures.methods import plot_bridging_vs_retrieval
from crossmodal.report.html import table_page
from crossmodal.tables import methods as mt

IDS = {"dataset": "wikipedia", "dataset_label": "Wikipedia (split)", "image_feature": "sift128", "image_label": "SIFT",
       "text_feature": "lda10", "text_label": "LDA"}


def _mnno() -> pd.DataFrame:
    rows = []
    for method, family, diff, p in (("lin", "regression", -0.2, 1e-6), ("cca", "shared", 0.1, 1e-4), ("vse++", "shared", 0.05, 0.2)):
        for direction in ("i2t", "t2i"):
            for k in (5, 10):
                rows.append({**IDS, "method": method, "family": family, "direction": direction, "y_role": "Y",
                             "metric": "cosine", "k": k, "self": "include", "n_test": 693, "mnno_x_fx": 0.3,
                             "mnno_y_fx": 0.3 + diff, "mnno_x_y": 0.1, "diff": diff, "diff_ci_lo": diff - 0.01,
                             "diff_ci_hi": diff + 0.01, "p_rank_sum": p, "p_paired": p, "chance": 0.01})
    return pd.DataFrame(rows)


def _retrieval() -> pd.DataFrame:
    rows = []
    for method, family, base in (("lin", "regression", 0.2), ("cca", "shared", 0.3), ("vse++", "shared", 0.4)):
        for query, bonus in (("I->T", 0.0), ("T->I", 0.1)):
            for scoring, extra in (("cosine", 0.0), ("csls", 0.02)):
                rows.append({**IDS, "method": method, "family": family, "direction": "both", "query": query,
                             "scoring": scoring, "map": base + bonus + extra, "r1": 0.1, "r5": 0.3, "r10": 0.5,
                             "n_queries": 693, "hub_k": 10, "hub_skewness": 1.5, "antihub_share": 0.2, "csls_k": 10})
    return pd.DataFrame(rows)


PUBLISHED = pd.DataFrame({"method": ["cca", "kcca"], "i2t_map": [0.298, 0.438], "t2i_map": [0.273, 0.389]})


def test_table13_adjusts_over_its_rows_and_flags_bridging_only_when_significant():
    t13 = mt.table13(_mnno(), "cosine", 10, "include", alpha=0.05)
    assert len(t13) == 6 and set(t13["k"]) == {10}
    n = len(t13)
    np.testing.assert_allclose(t13["p_adjusted"], np.minimum(t13["p_rank_sum"] * n, 1.0))
    by = t13.set_index(["method", "direction"])
    assert by.loc[("cca", "i2t"), "bridges"] and not by.loc[("cca", "i2t"), "keeps_input"]
    assert by.loc[("lin", "t2i"), "keeps_input"] and not by.loc[("lin", "t2i"), "bridges"]
    assert not by.loc[("vse++", "i2t"), "bridges"]  # positive but p 0.2 * 6 > 0.05
    with pytest.raises(ValueError, match="no method scores"):
        mt.table13(_mnno(), "euclidean", 10, "include", alpha=0.05)


def test_table14_puts_both_directions_and_scorings_on_one_row_beside_the_published_value():
    t14 = mt.table14(_retrieval(), PUBLISHED, mt.recall_ks(_retrieval()))
    assert mt.recall_ks(_retrieval()) == [1, 5, 10] and len(t14) == 3
    cca = t14.set_index("method").loc["cca"]
    assert (cca["i2t_cosine_map"], cca["t2i_cosine_map"], cca["t2i_csls_map"]) == pytest.approx((0.3, 0.4, 0.42))
    assert (cca["published_i2t_map"], cca["published_t2i_map"]) == (0.298, 0.273)
    assert "CNN image features" in cca["data_note"] and "sift128" in cca["data_note"]
    assert np.isnan(t14.set_index("method").loc["vse++", "published_i2t_map"])
    iapr = mt.table14(_retrieval().assign(dataset="iaprtc12"), PUBLISHED, [1, 5, 10]).set_index("method").loc["cca"]
    assert np.isnan(iapr["published_i2t_map"]) and "Wikipedia only" in iapr["data_note"]


def test_points_average_the_directions_and_the_figure_and_page_are_deterministic(tmp_path):
    t13 = mt.table13(_mnno(), "cosine", 10, "include", alpha=0.05)
    pts = mt.bridging_vs_retrieval(t13, mt.table14(_retrieval(), PUBLISHED, [1, 5, 10])).set_index("method")
    assert pts.loc["cca", "bridging"] == pytest.approx(0.1) and pts.loc["cca", "map"] == pytest.approx(0.35)
    plot_bridging_vs_retrieval(pts.reset_index(), tmp_path / "a.png")
    plot_bridging_vs_retrieval(pts.reset_index(), tmp_path / "b.png")
    png = (tmp_path / "a.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == (tmp_path / "b.png").read_bytes()
    page = table_page(t13.astype(str), "T", figure=("Fig", png))
    assert page.count("data:image/png;base64,") == 1 and "<h2>Fig</h2>" in page
