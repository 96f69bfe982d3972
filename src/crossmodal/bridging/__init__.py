"""crossmodal.bridging: ``crossmodal.bridge`` (does f: X -> Y bridge the two spaces?), the comparison of several mappings, its typed result and reports (the measures are ``crossmodal.measures``').

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
    "BridgeComparison": "compare",
    "bridge_many": "compare",
    "PerItem": "result",
    "Retrieval": "result",
    "bridge": "api",
    "format_table": "report",
    "write_outputs": "report",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from crossmodal.bridging.api import bridge
    from crossmodal.bridging.compare import BridgeComparison, bridge_many
    from crossmodal.bridging.report import format_table, write_outputs
    from crossmodal.bridging.result import BridgeResult, Curve, Hubness, KScores, PerItem, Retrieval


__getattr__ = lazy_exports(__name__, _WHERE)
