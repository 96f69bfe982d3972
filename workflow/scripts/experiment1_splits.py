"""Adapter: an Experiment 1 set -> its folds (cv) or runs (split), written once for every later step."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.paired import load_paired
from crossmodal.experiments import learned_mappings as lm
from crossmodal.io import atomic_path, log_to

p = snakemake.params
with log_to(snakemake.log[0]):
    ps = load_paired(snakemake.input[0])
    evals = lm.evaluations(ps, p.n_folds, p.n_runs, p.seed)
    print(f"{ps.experiment1.protocol}: {len(evals)} evaluation(s), test sizes {[len(ev.test) for ev in evals]}",
          file=sys.stderr)
    with atomic_path(snakemake.output[0]) as tmp:
        lm.save_splits(evals, lm.keys_digest(ps.keys), str(tmp))
