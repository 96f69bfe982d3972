"""Adapter: Figure 1 -- a toy 3-class manifold and its image under an untrained network (PNG + points)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import torch

from crossmodal.figures.toy import figure1_table, plot_figure1, random_map, toy_manifold, toy_summary
from crossmodal.io import atomic_path, log_to

p, o = snakemake.params, snakemake.output
with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    toy = toy_manifold(p.n_per_class, p.noise, p.seed)
    mapped = random_map(toy.points, p.hidden, p.seed)
    summary = toy_summary(toy.points, mapped, toy.classes, p.k, p.metric)
    print(json.dumps(summary.as_dict(), indent=2), file=sys.stderr)
    with atomic_path(o.png) as tmp:
        plot_figure1(toy, mapped, summary, tmp, p.hidden)
    with atomic_path(o.csv) as tmp:
        figure1_table(toy, mapped).to_csv(tmp, index=False)
