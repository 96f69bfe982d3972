"""Exact k-nearest neighbours of every point within one set of vectors (self-kNN).

The public entry is ``knn_indices`` (module ``search``, with the definition of its result).
The parts, each importing only those above it:

* ``checks``: input validation, metric and k checks, canonical unit rows;
* ``grid``: the distance grid, float64 bounds and exact cells (why a grid);
* ``devices``: CPU detection, the BLAS of the float32 tiles, thread and TF32 helpers;
* ``operands``: float32 tile operands, their error bounds, the float32 tile scorer;
* ``int8``: exact int8 tiles for cosine on CPUs with AMX int8;
* ``candidates``: threshold filters over run maxima, folding candidates into top-k' lists;
* ``tiles``: the tile plan and the symmetric top-k over tiles (how it is computed fast);
* ``exact``: the exact re-check from the candidates (why it is still exact);
* ``search``: ``knn_indices``.
"""

from crossmodal.metrics.knn.checks import METRICS, Metric, check_features, check_k, check_metric, cosine_normalise
from crossmodal.metrics.knn.grid import Canonical, pair_cells
from crossmodal.metrics.knn.search import knn_indices

__all__ = [
    "METRICS",
    "Canonical",
    "Metric",
    "check_features",
    "check_k",
    "check_metric",
    "cosine_normalise",
    "knn_indices",
    "pair_cells",
]
