"""Adapter: f(X) of each setting of one direction + cached neighbours of X and Y -> per-run
scores and their summary (with p)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import numpy as np
import torch

from crossmodal.datasets.paired import load_paired
from crossmodal.experiments import learned_mappings as lm
from crossmodal.io import atomic_path, log_to

i, w, p, o = snakemake.input, snakemake.wildcards, snakemake.params, snakemake.output
with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    ps = load_paired(i.data)
    Y = lm.sides(ps, w.direction)[1]
    nn_x, nn_y = (dict(np.load(f, allow_pickle=False)) for f in (i.nn_x, i.nn_y))
    for (mapping, _loss), pred, out_summary, out_runs in zip(p.settings, i.predictions, o.summary, o.runs):
        header, runs = lm.load_predictions(pred)
        lm.check_same_rows(ps, header.keys_digest, str(nn_x["keys_digest"]), str(nn_y["keys_digest"]))
        per_run, items = lm.score_evaluations(Y, runs, nn_x, nn_y, p.ks, device=p.device)
        summary = lm.summarise_scores(per_run, items)
        labels = lm.label_columns(ps, w.dataset, w.direction, mapping, header)
        for out, frame in ((out_summary, summary), (out_runs, per_run)):
            for pos, (col, value) in enumerate(labels.items()):
                frame.insert(pos, col, value)
            with atomic_path(out) as tmp:
                frame.to_csv(tmp, index=False)
        print(summary.to_string(), file=sys.stderr)
