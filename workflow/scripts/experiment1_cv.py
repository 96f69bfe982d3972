"""Adapter: an Experiment 1 set -> hyper-parameters chosen by k-fold CV on its training rows."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import torch

from crossmodal.datasets.paired import load_paired
from crossmodal.experiments import learned_mappings as lm
from crossmodal.io import atomic_path, log_to
from crossmodal.mappings import resolve_hyperparams

p, w, o = snakemake.params, snakemake.wildcards, snakemake.output
with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    ps = load_paired(snakemake.input.data)
    authors = resolve_hyperparams(ps.experiment1.family, w.direction, w.mapping, ps.image_feature, ps.image_dim, p.overrides)
    grid = lm.resolve_grid(p.grid, authors.hidden)
    evals = lm.load_splits(snakemake.input.splits, ps)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    res = lm.select_hyperparameters(ps, w.direction, w.mapping, w.loss, grid, evals, p.cv_folds, p.max_epochs,
                                    authors.batch_size, p.seed, p.criterion.get(w.loss), log=log,
                                    device=p.device)
    chosen = {**res.chosen, "dataset": w.dataset, "image_feature": w.image, "text_feature": w.text,
              "direction": w.direction, "grid": {k: list(v) for k, v in grid.items()}}
    print(json.dumps(chosen, indent=1), file=sys.stderr)
    with atomic_path(o.chosen) as tmp:
        Path(tmp).write_text(json.dumps(chosen, indent=1, sort_keys=True) + "\n")
    for out, frame in ((o.settings, res.settings), (o.runs, res.runs)):
        with atomic_path(out) as tmp:
            frame.to_csv(tmp, index=False)
