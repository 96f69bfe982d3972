"""Adapter for Figure 2's two rules.

figure2_curves: one Experiment 1 set -> per-epoch mNNO(f(X), Y), mNNO(f(X), X) and MSE of an nn map;
figure2: the per-set curves -> the figure (PNG) and one long CSV.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import pandas as pd
import torch

from crossmodal.datasets.paired import load_paired
from crossmodal.experiments.learned_mappings import load_splits
from crossmodal.figures.curves import dataset_curves, plot_figure2
from crossmodal.io import atomic_path, log_to

p, w, o = snakemake.params, snakemake.wildcards, snakemake.output
log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    if snakemake.rule == "figure2_curves":
        ps = load_paired(snakemake.input.data)
        first = load_splits(snakemake.input.splits, ps)[0]
        curves = dataset_curves(ps, w.dataset, p.directions, first,
                                overrides=p.overrides, kind=p.mapping, k=p.k, metric=p.metric,
                                include_self=p.include_self, log=log, device=p.device)
        with atomic_path(o[0]) as tmp:
            curves.to_csv(tmp, index=False)
    else:
        curves = pd.concat([pd.read_csv(f, keep_default_na=False) for f in snakemake.input], ignore_index=True)
        with atomic_path(o.csv) as tmp:
            curves.to_csv(tmp, index=False)
        with atomic_path(o.png) as tmp:
            plot_figure2(curves, tmp)
        log(f"{len(curves)} rows from {len(snakemake.input)} file(s)")
