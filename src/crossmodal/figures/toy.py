"""Figure 1: a random network maps a disconnected 2-d manifold continuously.

The paper's Figure 1 sketches a manifold made of three pieces (one per class) and its image
under a mapping whose parameters were drawn at random; the point is that a continuous map keeps
nearby points nearby, so the neighbourhood structure of the input survives the mapping. Here the
sketch is made concrete and measurable:

* :func:`toy_manifold`: three seeded, well-separated 2-d arcs, one per class;
* :func:`random_map`: the untrained tanh network of Experiment 2
  (crossmodal.mappings.untrained, weights ~ U[-1, 1], zero biases), 2 -> hidden -> 2;
* :func:`toy_summary`: mNNO^K between the input points and their images (against its chance
  level), and whether the classes stay apart before and after the mapping;
* :func:`plot_figure1`: the two panels side by side, written as a byte-reproducible PNG.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crossmodal.mappings.untrained import apply_untrained, untrained_weights
from crossmodal.measures.nno import chance
from crossmodal.metrics.knn import Metric, knn_indices
from crossmodal.metrics.nno import mnno

# One piece of the manifold per class: (centre x, centre y, radius, first angle, last angle), in
# radians. Three arcs far apart compared with the spacing of the points along each arc.
ARCS: tuple[tuple[float, float, float, float, float], ...] = (
    (-2.2, 0.4, 1.0, 0.15 * np.pi, 0.95 * np.pi),
    (1.6, 1.2, 0.8, 1.05 * np.pi, 1.9 * np.pi),
    (0.2, -1.8, 1.1, -0.1 * np.pi, 0.7 * np.pi),
)
CLASS_MARKERS: tuple[str, ...] = ("s", "^", "o")  # the paper's ■, ▲ and ●
CLASS_COLOURS: tuple[str, ...] = ("#1b9e77", "#d95f02", "#7570b3")


@dataclass(frozen=True)
class ToyManifold:
    points: np.ndarray  # float64 (N, 2)
    classes: np.ndarray  # int64 (N,), values 0..len(ARCS) - 1


def toy_manifold(n_per_class: int = 100, noise: float = 0.03, seed: int = 0) -> ToyManifold:
    """``n_per_class`` points on each of the :data:`ARCS`, jittered by N(0, noise²) per coordinate.

    The angles along each arc are uniform draws (sorted), so the same seed gives the same points.
    """
    if n_per_class < 2:
        raise ValueError(f"n_per_class must be at least 2, got {n_per_class}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    rng = np.random.default_rng(seed)
    points, classes = [], []
    for c, (cx, cy, r, a0, a1) in enumerate(ARCS):
        t = np.sort(rng.uniform(a0, a1, n_per_class))
        arc = np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])
        points.append(arc + rng.normal(0.0, noise, arc.shape))
        classes.append(np.full(n_per_class, c, dtype=np.int64))
    return ToyManifold(np.concatenate(points), np.concatenate(classes))


def random_map(points: np.ndarray, hidden: int = 32, seed: int = 0, d_out: int = 2) -> np.ndarray:
    """The images of ``points`` under a randomly initialised, never trained tanh network
    (:func:`crossmodal.mappings.untrained.untrained_weights`, model ``f_nn``)."""
    pts = np.asarray(points, dtype=np.float64)
    weights = untrained_weights("f_nn", pts.shape[1], d_out, hidden, seed)
    return apply_untrained(weights, pts)


@dataclass(frozen=True)
class Separation:
    """How far apart the classes are: the smallest distance between two points of different
    classes against the largest step from a point to its nearest same-class point."""

    min_between: float
    max_within_nn: float

    @property
    def ratio(self) -> float:
        return self.min_between / self.max_within_nn if self.max_within_nn > 0 else float("inf")

    @property
    def separated(self) -> bool:
        return self.min_between > self.max_within_nn


def class_separation(points: np.ndarray, classes: np.ndarray) -> Separation:
    """Brute-force float64 Euclidean :class:`Separation` of labelled points (small N only)."""
    P = np.asarray(points, dtype=np.float64)
    c = np.asarray(classes)
    D = np.sqrt(((P[:, None, :] - P[None, :, :]) ** 2).sum(axis=2))
    same = c[:, None] == c[None, :]
    if same.all():
        raise ValueError("need at least two classes")
    within = np.where(same, D, np.inf)
    np.fill_diagonal(within, np.inf)
    nn_within = within.min(axis=1)
    if not np.isfinite(nn_within).all():
        raise ValueError("every class needs at least two points")
    return Separation(float(D[~same].min()), float(nn_within.max()))


def knn_class_purity(points: np.ndarray, classes: np.ndarray, k: int, metric: Metric = "euclidean") -> float:
    """Mean share of each point's K nearest other points that belong to its class."""
    nn = knn_indices(points, k, metric)
    c = np.asarray(classes)
    return float((c[nn] == c[:, None]).mean())


def chance_mnno(n: int, k: int, include_self: bool = True) -> float:
    """Expected mNNO^K when the two neighbour lists of each item are unrelated random draws.

    Without self: each list holds K of the N - 1 other items, overlap K²/(N - 1) on average.
    With self: both lists hold the item itself, plus K - 1 random others: 1 + (K - 1)²/(N - 1).
    (``crossmodal.measures.nno.chance``.)
    """
    return chance(k, n, include_self)


@dataclass(frozen=True)
class ToySummary:
    n: int
    k: int
    metric: str
    mnno: float  # mNNO^K(M, f(M)), each point counted among its own K
    chance: float  # chance_mnno(n, k)
    separation_input: Separation
    separation_mapped: Separation
    purity_input: float
    purity_mapped: float

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        for side in ("input", "mapped"):
            sep = getattr(self, f"separation_{side}")
            out[f"separation_{side}"] = {**asdict(sep), "ratio": sep.ratio, "separated": sep.separated}
        return out


def toy_summary(
    points: np.ndarray, mapped: np.ndarray, classes: np.ndarray, k: int = 10, metric: Metric = "euclidean"
) -> ToySummary:
    """mNNO^K between the points and their images (self counted, the paper's convention) and
    the class structure on both sides."""
    n = len(points)
    return ToySummary(
        n=n,
        k=k,
        metric=metric,
        mnno=mnno(points, mapped, k, metric, include_self=True),
        chance=chance_mnno(n, k, include_self=True),
        separation_input=class_separation(points, classes),
        separation_mapped=class_separation(mapped, classes),
        purity_input=knn_class_purity(points, classes, k, metric),
        purity_mapped=knn_class_purity(mapped, classes, k, metric),
    )


def figure1_table(toy: ToyManifold, mapped: np.ndarray) -> pd.DataFrame:
    """One row per point: class, input coordinates (x, y) and image (fx, fy)."""
    return pd.DataFrame(
        {
            "class": toy.classes,
            "x": toy.points[:, 0],
            "y": toy.points[:, 1],
            "fx": mapped[:, 0],
            "fy": mapped[:, 1],
        }
    )


def _separation_text(sep: Separation) -> str:
    verdict = "classes apart" if sep.separated else "classes touch"
    return f"{verdict} (class gap / largest NN step = {sep.ratio:.2f})"


def plot_figure1(toy: ToyManifold, mapped: np.ndarray, summary: ToySummary, path: str | Path, hidden: int) -> None:
    """Input manifold and its image side by side, one marker and colour per class; a PNG whose
    bytes depend only on the data (no software or date stamp)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.8), dpi=100, layout="constrained")
    ax_in, ax_out = fig.subplots(1, 2)
    panels = (
        (ax_in, toy.points, "input M: 3 disconnected pieces", summary.separation_input, summary.purity_input),
        (ax_out, mapped, f"f(M): untrained tanh net 2-{hidden}-2", summary.separation_mapped,
         summary.purity_mapped),
    )
    for ax, pts, title, sep, purity in panels:
        for c in np.unique(toy.classes):
            sel = toy.classes == c
            ax.scatter(pts[sel, 0], pts[sel, 1], s=14, marker=CLASS_MARKERS[c % 3], color=CLASS_COLOURS[c % 3],
                       label=f"class {int(c)}", linewidths=0)
        ax.set_title(f"{title}\n{_separation_text(sep)}\nsame class among {summary.k}-NN: {purity:.3f}", fontsize=9)
        ax.set_xlabel("dimension 1")
        ax.set_ylabel("dimension 2")
        ax.set_aspect("equal", adjustable="datalim")
    ax_in.legend(loc="best", fontsize=8)
    fig.suptitle(
        f"mNNO$^{{{summary.k}}}$(M, f(M)) = {summary.mnno:.3f} ({summary.metric} neighbours, self counted; "
        f"chance {summary.chance:.3f}), N = {summary.n}",
        fontsize=10,
    )
    fig.savefig(path, format="png", metadata={"Software": None})
