"""Several mappings compared on one (X, Y) in one run (``crossmodal bridge --mapper a,b,c`` or ``all``).

Every mapping runs the protocol of :func:`crossmodal.bridging.api.bridge` with the same folds and
seed, so each result equals the one a run of that mapping alone gives; the neighbours of X and Y
of each fold and the permutation null of mNNO(X, Y) are computed once and shared. A mapping that
cannot run on the data (it needs labels, or d_x = d_y for ``procrustes``) is skipped with the
reason when it came from ``all``, and is an error when it was named.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crossmodal.bridging.result import BridgeResult, _json_ready

# One row per mapping: (column, heading, value of a result).
COLUMNS: tuple[tuple[str, str, Callable[[BridgeResult], Any]], ...] = (
    ("space", "space", lambda r: r.setup.get("mapper_space") or "given"),
    ("mnno_x_f", "X,f(X)", lambda r: r.mnno_x_f),
    ("mnno_y_f", "Y,f(X)", lambda r: r.mnno_y_f),
    ("mnno_x_y", "X,Y", lambda r: r.mnno_x_y),
    ("chance", "chance", lambda r: r.chance),
    ("p_paired", "p", lambda r: r.p_paired),
    ("r1", "R@1", lambda r: r.retrieval["nn"].r1),
    ("r10", "R@10", lambda r: r.retrieval["nn"].r10),
    ("mrr", "MRR", lambda r: r.retrieval["nn"].mrr),
    ("r1_csls", "R@1 CSLS", lambda r: r.retrieval["csls"].r1),
    ("hub_skewness", "hub skew", lambda r: r.hubness.k_skewness),
    ("mse", "MSE", lambda r: r.mse),
    ("r2", "R2", lambda r: r.r2),
    ("verdict", "verdict", lambda r: r.verdict),
)


@dataclass(frozen=True)
class BridgeComparison:
    """``results`` by mapping, in the order asked; ``skipped``: mapping -> why it did not run."""

    results: dict[str, BridgeResult]
    skipped: dict[str, str] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return [{"mapper": name, **{col: get(res) for col, _, get in COLUMNS}} for name, res in self.results.items()]

    def to_dict(self) -> dict[str, Any]:
        first = next(iter(self.results.values()), None)
        return _json_ready({"k": first.k if first else None, "metric": first.metric if first else None,
                            "include_self": first.include_self if first else None, "table": self.rows(),
                            "skipped": self.skipped, "results": {n: r.to_dict() for n, r in self.results.items()}})


def skip_reason(name: str, X: np.ndarray, Y: np.ndarray) -> str | None:
    """Why mapping ``name`` cannot run on (X, Y), or None."""
    from crossmodal.mappers.registry import get

    spec = get(name)
    if spec.needs_labels:
        return "needs item labels, which crossmodal bridge does not have"
    if spec.name == "procrustes" and X.shape[1] != Y.shape[1]:
        return f"needs d_x = d_y, got {X.shape[1]} and {Y.shape[1]}"
    return None


def bridge_many(X: Any, Y: Any, mappers: Sequence[str], *, mapper_params: Mapping[str, Mapping[str, object]] | None = None,
                skip_unfit: bool | None = None, log: Callable[[str], None] | None = None,
                **kwargs: Any) -> BridgeComparison:
    """``bridge(X, Y, mapper=m, **kwargs)`` for every m, sharing what does not depend on m.

    ``skip_unfit``: leave out (with the reason) mappings that cannot run on this data; default:
    when more than one mapping is asked for.
    """
    from crossmodal.bridging.api import bridge

    Xa, Ya = np.asarray(X), np.asarray(Y)
    skip_unfit = len(mappers) > 1 if skip_unfit is None else skip_unfit
    cache: dict[object, object] = {}
    results: dict[str, BridgeResult] = {}
    skipped: dict[str, str] = {}
    for name in mappers:
        why = skip_reason(name, Xa, Ya) if skip_unfit else None
        if why is not None:
            skipped[name] = why
            if log is not None:
                log(f"{name}: skipped, {why}")
            continue
        if log is not None:
            log(f"{name}: fitting and measuring")
        results[name] = bridge(X, Y, None, mapper=name, mapper_options=(mapper_params or {}).get(name), cache=cache,
                               log=None, **kwargs)
    if not results:
        raise ValueError(f"no mapping could run: {'; '.join(f'{n}: {w}' for n, w in skipped.items())}")
    return BridgeComparison(results, skipped)


def _cell(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and 0 < abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4f}"


def format_comparison(comparison: BridgeComparison) -> str:
    """One text table of every measure by mapping (the first K), then the skipped ones."""
    first = next(iter(comparison.results.values()))
    s = first.setup
    rule = "self counted" if first.include_self else "self excluded"
    head = [f"X = {s['inputs']['x']} ({s['dims']['x']}-d), Y = {s['inputs']['y']} ({s['dims']['y']}-d)",
            f"{s['protocol']}; N = {first.n} held-out items; mNNO^{first.k}, {first.metric} neighbours, {rule}; "
            "retrieval f(X) -> Y (cosine); for a shared-space mapping f = g and the Y side is h(Y)", ""]
    cols = [("mapper", "mapper")] + [(c, h) for c, h, _ in COLUMNS if c != "verdict"]
    rows = comparison.rows()
    cells = [[str(r["mapper"])] + [_cell(r[c]) for c, _ in cols[1:]] for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, (_, h) in enumerate(cols)]
    lines = head + ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, ((_, h), w) in enumerate(zip(cols, widths)))]
    lines += ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))) for row in cells]
    lines += ["", "verdicts:"] + [f"  {r['mapper']}: {r['verdict']}" for r in rows]
    if comparison.skipped:
        lines += ["", "skipped:"] + [f"  {n}: {why}" for n, why in comparison.skipped.items()]
    return "\n".join(lines)


def write_comparison(comparison: BridgeComparison, out_dir: str) -> list[Path]:
    """comparison.csv, comparison.json and each mapping's own outputs in ``out_dir/<mapping>/``."""
    import json

    import pandas as pd

    from crossmodal.bridging.report import write_outputs
    from crossmodal.io import write_text_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "comparison.csv", out / "comparison.json"]
    write_text_atomic(written[0], pd.DataFrame(comparison.rows()).to_csv(index=False))
    write_text_atomic(written[1], json.dumps(comparison.to_dict(), indent=2) + "\n")
    for name, result in comparison.results.items():
        written += write_outputs(result, out / name)
    return written
