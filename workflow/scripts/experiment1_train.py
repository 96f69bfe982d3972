"""Adapter: an Experiment 1 set -> one mapping trained per fold/run and f(X) on its test rows."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import torch

from crossmodal.datasets.paired import load_paired
from crossmodal.experiments.learned_mappings import evaluations, keys_digest, save_predictions, sides, train_evaluations
from crossmodal.io import atomic_path, log_to
from crossmodal.mappings import resolve_hyperparams

p, w = snakemake.params, snakemake.wildcards
with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    ps = load_paired(snakemake.input[0])
    X, Y = sides(ps, w.direction)
    hp = resolve_hyperparams(ps.meta["family"], w.direction, w.mapping, ps.image_feature, ps.image_dim, p.overrides)
    print(f"{w.dataset} {w.image}/{w.text} {w.direction} {w.mapping}: {hp}", file=sys.stderr)
    evals = evaluations(ps, p.n_folds, p.n_runs, p.seed)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    pred = train_evaluations(X, Y, evals, w.mapping, hp, log=log, progress=True)
    header = {"n_evaluations": len(evals), "protocol": ps.meta["protocol"], "hyperparams": hp.__dict__,
              "direction": w.direction, "mapping": w.mapping, "keys_digest": keys_digest(ps.keys)}
    with atomic_path(snakemake.output[0]) as tmp:
        save_predictions(pred, str(tmp), header)
