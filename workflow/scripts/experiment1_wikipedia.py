"""Adapter: the Wikipedia dataset's files -> an Experiment 1 set (official split)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.experiment1 import wikipedia_set
from crossmodal.io import log_to

i, w = snakemake.input, snakemake.wildcards
with log_to(snakemake.log[0]):
    ps = wikipedia_set(i.mat, i.train_list, i.test_list, i.categories, w.text, name=w.dataset,
                       text_file=i.get("text_file"))
    print(f"{ps.description}\nn_train={ps.experiment1.n_train}", file=sys.stderr)
    ps.save(snakemake.output[0])  # atomic (crossmodal.io.atomic_path inside save_paired)
