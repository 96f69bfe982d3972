"""crossmodal.bridging: ``crossmodal.bridge`` (does f: X -> Y bridge the two spaces?), its
mappers, measures, typed result and reports.

Names are loaded on first use (``crossmodal._lazy``): importing the result types or the
report writers does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossmodal._lazy import lazy_exports

_WHERE = {
    "BridgeResult": "result",
    "Curve": "result",
    "Hubness": "result",
    "KScores": "result",
    "MAPPERS": "mappers",
    "PerItem": "result",
    "Retrieval": "result",
    "bridge": "api",
    "cross_stats": "retrieval",
    "format_table": "report",
    "write_outputs": "report",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from crossmodal.bridging.api import bridge
    from crossmodal.bridging.mappers import MAPPERS
    from crossmodal.bridging.report import format_table, write_outputs
    from crossmodal.bridging.result import BridgeResult, Curve, Hubness, KScores, PerItem, Retrieval
    from crossmodal.bridging.retrieval import cross_stats


__getattr__ = lazy_exports(__name__, _WHERE)
