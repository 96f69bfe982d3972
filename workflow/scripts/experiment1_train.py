"""Adapter: an Experiment 1 set -> for each setting of one direction, one mapping per fold/run
(trained together) and f(X) on its test rows."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import torch

from crossmodal.datasets.paired import load_paired
from crossmodal.experiments import learned_mappings as lm
from crossmodal.io import atomic_path, log_to
from crossmodal.mappings import resolve_hyperparams

p, w, i, o = snakemake.params, snakemake.wildcards, snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    ps = load_paired(i.data)
    X, Y = lm.sides(ps, w.direction)
    evals = lm.load_splits(i.splits, ps)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    chosen = i.chosen if "chosen" in i.keys() else [None] * len(p.settings)
    for (mapping, loss), cv, out_pred, out_checks in zip(p.settings, chosen, o.predictions, o.checks):
        if cv is not None:
            settings = lm.TrainSettings.from_cv(json.loads(Path(cv).read_text()))
        else:
            hp = resolve_hyperparams(ps.experiment1.family, w.direction, mapping, ps.image_feature, ps.image_dim,
                                     p.overrides)
            settings = lm.TrainSettings.from_authors(hp, mapping, loss, p.margin)
        pred = lm.train_evaluations(X, Y, evals, mapping, settings, lm.max_margin_labels(ps), log=log,
                                     device=p.device)
        checks = lm.loss_checks(pred)
        print(checks.to_string(), file=sys.stderr)
        header = lm.PredictionsHeader(len(evals), ps.experiment1.protocol, settings, w.direction, mapping,
                                      lm.keys_digest(ps.keys), int((~checks["steady"]).sum()))
        with atomic_path(out_pred) as tmp:
            lm.save_predictions(pred, str(tmp), header)
        with atomic_path(out_checks) as tmp:
            checks.to_csv(tmp, index=False)
