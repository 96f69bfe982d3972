"""Outputs of ``crossmodal bridge``: the terminal table, and with ``--out DIR``:

* ``bridge.json``: ``BridgeResult.to_dict()`` (keys in ``crossmodal.bridging.result``);
* ``per_item.csv``: one row per item, input order: ``item`` (its key, else its row number
  from 0), ``fold``, ``nno_x_f_k{K}``, ``nno_y_f_k{K}``, ``nno_x_y_k{K}`` for every K,
  ``rank_nn``, ``rank_csls`` (rank of its true y for query f(x)), ``n_k`` (N_k of its y);
* ``mnno_vs_k.png``: mNNO against K = 1..100 (at most n - 1) for the three pairs, with chance;
* ``bridge.html``: one self-contained page with all of it (the PNG inlined, the CSV as a
  data: download link and its first rows).

Every file is written atomically (``crossmodal.io.atomic_path``). matplotlib is imported only
to draw the figure (Agg backend).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from crossmodal.bridging.result import BridgeResult, format_p
from crossmodal.io import atomic_path, write_text_atomic

PAIR_LABELS = {"x_f": "X, f(X)", "y_f": "Y, f(X)", "x_y": "X, Y"}


def _ci(result_ci: dict[str, tuple[float, float]], name: str) -> str:
    if name not in result_ci:
        return ""
    lo, hi = result_ci[name]
    return f"[{lo:.4f}, {hi:.4f}]"


def format_table(result: BridgeResult) -> str:
    """The terminal report: setup, mNNO with intervals per K, tests, retrieval, hubness, fit."""
    s = result.setup
    rule = "self counted" if result.include_self else "self excluded"
    how = f"mapper {s['mapper']}, {s['protocol']}" if s.get("mapper") else s["protocol"]
    lines = [
        f"X = {s['inputs']['x']} ({s['dims']['x']}-d), Y = {s['inputs']['y']} ({s['dims']['y']}-d)"
        + (f", F = {s['inputs']['f']}" if s["inputs"].get("f") else ""),
        f"{how}",
        f"N = {result.n} {'held-out items' if s.get('mapper') else 'items'}, {result.metric} neighbours, {rule}",
        "",
    ]
    level = int(round(100 * s["ci_level"]))
    shared = s.get("mapper_space") == "shared"  # f = g, and Y's side is h(Y), both in the shared space
    xf, yf, f_to_y = ("X, g(X)", "h(Y), g(X)", "g(X) -> h(Y)") if shared else ("X, f(X)", "Y, f(X)", "f(X) -> Y")
    diff = "h(Y),g - X,g(X)" if shared else "Y,f(X) - X,f(X)"
    fx, ys = ("g(X)", "h(Y)") if shared else ("f(X)", "Y")
    for k, ks in result.by_k.items():
        lines.append(f"K = {k}   {'mNNO':>8}   {f'{level}% CI':<18}")
        lines.append(f"  {xf:<16}{ks.mnno_x_f:8.4f}   {_ci(ks.ci, 'mnno_x_f')}")
        lines.append(f"  {yf:<16}{ks.mnno_y_f:8.4f}   {_ci(ks.ci, 'mnno_y_f')}")
        perm = "" if np.isnan(ks.p_permutation_x_y) else \
            f"   permutation {format_p(ks.p_permutation_x_y)} ({s['n_permutations']} shuffles)"
        lines.append(f"  {'X, Y':<16}{ks.mnno_x_y:8.4f}   {_ci(ks.ci, 'mnno_x_y'):<18}{perm}")
        lines.append(f"  {diff:<16}{ks.mnno_y_f - ks.mnno_x_f:8.4f}   {_ci(ks.ci, 'mnno_y_f_minus_x_f'):<18}"
                     f"   Wilcoxon signed-rank {format_p(ks.p_paired)}")
        lines.append(f"  {'chance':<16}{ks.chance:8.4f}")
        if len(result.by_k) > 1:
            lines.append(f"  {ks.verdict}")
        lines.append("")
    lines.append(f"retrieval {f_to_y} ({result.n} queries, gallery = {'h(Y)' if shared else 'Y'} of the same set)")
    lines.append(f"  {'':<8}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR':>8}")
    for name, label in (("nn", "cosine"), ("csls", "CSLS")):
        r = result.retrieval[name]
        lines.append(f"  {label:<8}{r.r1:8.4f}{r.r5:8.4f}{r.r10:8.4f}{r.mrr:8.4f}")
    h = result.hubness
    lines.append(f"hubness of {fx} among {ys} (k={h.k}): N_k skewness {h.k_skewness:.3f}, "
                 f"anti-hubs (N_k = 0) {100 * h.antihub_share:.1f}% of {ys}")
    lines.append(f"MSE {result.mse:.6g}   R² {result.r2:.4f}")
    lines.append("")
    lines.append(f"verdict (K={result.k}): {result.verdict}")
    return "\n".join(lines)


def per_item_frame(result: BridgeResult) -> pd.DataFrame:
    """The per-item table written to ``per_item.csv``."""
    pi = result.per_item
    if pi is None:
        raise ValueError("this result has no per-item values")
    cols: dict[str, object] = {"item": pi.keys if pi.keys is not None else np.arange(len(pi.fold)), "fold": pi.fold}
    for k, values in pi.nno.items():
        for pair in ("x_f", "y_f", "x_y"):
            cols[f"nno_{pair}_k{k}"] = values[pair]
    cols.update(rank_nn=pi.rank_nn, rank_csls=pi.rank_csls, n_k=pi.n_k)
    return pd.DataFrame(cols)


def curve_png(result: BridgeResult) -> bytes:
    """PNG bytes of mNNO against K for the three pairs, with the chance line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = result.curve
    if c is None:
        raise ValueError("this result has no curve (bridge(..., curve=True))")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for pair, style in (("x_f", "-"), ("y_f", "-"), ("x_y", "--")):
        ax.plot(c.k, getattr(c, pair), style, label=f"mNNO({PAIR_LABELS[pair]})")
    ax.plot(c.k, c.chance, ":", color="grey", label="chance")
    ax.set_xlabel("K (neighbours)")
    ax.set_ylabel("mNNO")
    rule = "self counted" if result.include_self else "self excluded"
    sizes = result.setup.get("fold_sizes") or [result.n]
    where = f"N = {result.n}" if len(sizes) == 1 else \
        f"N = {result.n} in {len(sizes)} held-out folds of {min(sizes)}-{max(sizes)}"
    ax.set_title(f"mNNO against K ({result.metric}, {rule}, {where})", fontsize=10)
    ax.set_xlim(1, int(c.k[-1]))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _html_page(result: BridgeResult, table: str, png: bytes | None, csv_text: str) -> str:
    esc = html.escape
    data = result.to_dict()
    preview = per_item_frame(result).head(20).to_html(index=False, border=0)
    csv_b64 = base64.b64encode(csv_text.encode()).decode()
    figure = "" if png is None else \
        f'<h2>mNNO against K</h2><img alt="mNNO against K" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>crossmodal bridge</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}
pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}table{{border-collapse:collapse}}
td,th{{padding:2px 8px;text-align:right}}</style></head>
<body>
<h1>Does f(X) bridge X and Y?</h1>
<p><strong>{esc(result.verdict)}</strong></p>
<h2>Summary</h2>
<pre>{esc(table)}</pre>
{figure}
<h2>Per item</h2>
<p><a download="per_item.csv" href="data:text/csv;base64,{csv_b64}">per_item.csv</a>
({result.n} rows; first 20 below).</p>
{preview}
<h2>bridge.json</h2>
<pre>{esc(json.dumps(data, indent=2))}</pre>
</body></html>
"""


def write_outputs(result: BridgeResult, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write bridge.json, per_item.csv, mnno_vs_k.png (when the result has a curve) and
    bridge.html into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    write_text_atomic(out / "bridge.json", json.dumps(result.to_dict(), indent=2) + "\n")
    written.append(out / "bridge.json")
    csv_text = per_item_frame(result).to_csv(index=False)
    write_text_atomic(out / "per_item.csv", csv_text)
    written.append(out / "per_item.csv")
    png = None
    if result.curve is not None:
        png = curve_png(result)
        with atomic_path(out / "mnno_vs_k.png") as tmp:
            tmp.write_bytes(png)
        written.append(out / "mnno_vs_k.png")
    write_text_atomic(out / "bridge.html", _html_page(result, format_table(result), png, csv_text))
    written.append(out / "bridge.html")
    return written
