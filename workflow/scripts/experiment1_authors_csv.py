"""Adapter: the authors' released CSVs of one feature pair -> an Experiment 1 set."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.experiment1 import authors_set
from crossmodal.io import log_to

w = snakemake.wildcards
with log_to(snakemake.log[0]):
    files = {role: snakemake.input[role] for role in snakemake.input.keys()}
    ps = authors_set(snakemake.params.release, files, w.image, w.text, name=w.dataset)
    print(f"{ps.description}\nprotocol={ps.experiment1.protocol} n_train={ps.experiment1.n_train}", file=sys.stderr)
    ps.save(snakemake.output[0])  # atomic (crossmodal.io.atomic_path inside save_paired)
