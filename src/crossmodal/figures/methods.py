"""The issue-14 figure: does bridging neighbourhoods go with retrieving well? One point per method and
dataset x features: x = retrieval mAP (cosine, mean of I->T and T->I), y = mNNO(Y-role, F) − mNNO(X, F)
(mean over directions; above 0: F took on the other modality's neighbourhoods)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FAMILY_MARKERS: dict[str, str] = {"regression": "o", "shared": "s"}


def plot_bridging_vs_retrieval(points: pd.DataFrame, path: str | Path) -> None:
    """A PNG whose bytes depend only on ``points`` (columns of tables.methods.bridging_vs_retrieval)."""
    from matplotlib.figure import Figure

    if points.empty:
        raise ValueError("no methods to plot")
    fig = Figure(figsize=(8, 5.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    sets = list(dict.fromkeys(zip(points["dataset"], points["image_feature"], points["text_feature"])))
    colours = {key: f"C{n % 10}" for n, key in enumerate(sets)}
    for _, r in points.iterrows():
        key = (r["dataset"], r["image_feature"], r["text_feature"])
        ax.scatter(r["map"], r["bridging"], marker=FAMILY_MARKERS.get(r["family"], "^"), color=colours[key])
        ax.annotate(str(r["method"]), (r["map"], r["bridging"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    for key, colour in colours.items():
        ax.scatter([], [], color=colour, label=" / ".join(key))
    ax.legend(fontsize=7, title="dataset / image / text", title_fontsize=7)
    ax.set_xlabel("retrieval mAP (cosine; mean of I→T and T→I)")
    ax.set_ylabel("mNNO(Y-role, F) − mNNO(X, F)  (> 0: bridges)")
    ax.set_title("Bridging neighbourhoods vs retrieving well (circles: regression maps; squares: shared spaces)", fontsize=9)
    fig.savefig(path, format="png", metadata={"Software": None})
