"""Adapter: one feature set of an Experiment 1 set -> its exclude-self K_max-NN on every test set."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import numpy as np
import torch

from crossmodal.datasets.paired import load_paired
from crossmodal.experiments.learned_mappings import held_out_sets, keys_digest, load_splits, neighbour_lists
from crossmodal.io import atomic_path, log_to

p, w = snakemake.params, snakemake.wildcards
with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    ps = load_paired(snakemake.input.data)
    sets = held_out_sets(load_splits(snakemake.input.splits, ps))
    features = ps.image if w.modality == "image" else ps.text
    lists = neighbour_lists(features, sets, p.k_max, where=f"{w.dataset} {w.modality} {w.feature}: ",
                            device=p.device)
    print(f"{len(sets)} test set(s) of {[len(s) for s in sets.values()]} items, K_max={p.k_max}", file=sys.stderr)
    with atomic_path(snakemake.output[0]) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, keys_digest=np.array(keys_digest(ps.keys)), **lists)
