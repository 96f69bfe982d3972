"""Adapter: your own pair of embedding files -> an Experiment 1 set (CV or a fixed split)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.experiment1 import paired_set
from crossmodal.io import log_to

w, spec = snakemake.wildcards, snakemake.params.spec
with log_to(snakemake.log[0]):
    root = Path(snakemake.scriptdir).resolve().parents[1]  # relative paths are relative to the project root
    ps = paired_set(root / spec["x"], root / spec["y"], spec, name=w.dataset)
    print(f"{ps.description}\nprotocol={ps.experiment1.protocol} n_train={ps.experiment1.n_train}", file=sys.stderr)
    ps.save(snakemake.output[0])  # atomic (crossmodal.io.atomic_path inside save_paired)
