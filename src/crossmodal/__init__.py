"""crossmodal: does a learned mapping f: X -> Y bridge two embedding spaces?

A reproduction of Collell & Moens (ACL 2018) as an importable library. The Snakemake
workflow in ``workflow/`` only adapts files to the functions defined here.

``crossmodal.bridge(X, Y, F=None, mapper="ridge", k=10, ...)`` answers the paper's question
for any paired embeddings (``crossmodal.bridging``); it is loaded on first use, so importing
``crossmodal`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossmodal._lazy import lazy_exports

__version__ = "0.1.0"

_WHERE = {"bridge": "bridging.api", "BridgeResult": "bridging.result"}

if TYPE_CHECKING:
    from crossmodal.bridging.api import bridge
    from crossmodal.bridging.result import BridgeResult

__getattr__ = lazy_exports(__name__, _WHERE)
