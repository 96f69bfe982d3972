"""Adapter: word vectors + benchmark pairs -> per-seed Spearman rho of X, f_lin(X), f_nn(X)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import pandas as pd

from crossmodal.experiments.similarity import untrained_mapping_rhos
from crossmodal.features.visual_words import read_label
from crossmodal.features.word_vectors import load_keyed_vectors
from crossmodal.io import atomic_path, log_to

p = snakemake.params
with log_to(snakemake.log[0]):
    # A visual embedding's label is written beside its vectors (it counts the words).
    label = p.embedding_label or read_label(snakemake.input.info)
    rhos = untrained_mapping_rhos(
        load_keyed_vectors(snakemake.input.vectors),
        pd.read_csv(snakemake.input.pairs, sep="\t", keep_default_na=False),
        n_seeds=p.n_seeds,
        output_dim=p.output_dim,
        hidden_dim=p.hidden_dim,
        min_pairs=p.min_pairs,
    )
    rhos.insert(0, "embedding", snakemake.wildcards.embedding)
    rhos.insert(1, "embedding_label", label)
    rhos.insert(2, "benchmark", snakemake.wildcards.benchmark)
    rhos.insert(3, "benchmark_label", p.benchmark_label)
    rhos.insert(4, "benchmark_source", p.benchmark_source)
    print(f"{rhos['n_pairs'].iloc[0]} pairs used, {rhos['n_dropped'].iloc[0]} dropped (OOV)", file=sys.stderr)
    if rhos["reason"].iloc[0]:
        print(f"not available: {rhos['reason'].iloc[0]}", file=sys.stderr)
    with atomic_path(snakemake.output[0]) as tmp:
        rhos.to_csv(tmp, index=False)
