"""Adapter: one embedding's word vectors + every benchmark's pairs -> per-seed Spearman rho of
X, f_lin(X), f_nn(X), one table per benchmark."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import pandas as pd

from crossmodal.experiments.similarity import untrained_mapping_rhos_of_benchmarks
from crossmodal.features.visual_words import read_label
from crossmodal.features.word_vectors import load_keyed_vectors
from crossmodal.io import atomic_path, log_to

p, i = snakemake.params, snakemake.input
with log_to(snakemake.log[0]):
    # A visual embedding's label is written beside its vectors (it counts the words).
    label = p.embedding_label or read_label(i.info)
    vectors = load_keyed_vectors(i.vectors)
    tables = untrained_mapping_rhos_of_benchmarks(  # each network drawn once for every benchmark
        vectors,
        [pd.read_csv(pairs, sep="\t", keep_default_na=False) for pairs in i.pairs],
        n_seeds=p.n_seeds,
        output_dim=p.output_dim,
        hidden_dim=p.hidden_dim,
        min_pairs=p.min_pairs,
    )
    for (key, benchmark_label, source), rhos, out in zip(p.benchmarks, tables, snakemake.output, strict=True):
        for pos, (col, value) in enumerate({"embedding": snakemake.wildcards.embedding, "embedding_label": label,
                                            "benchmark": key, "benchmark_label": benchmark_label,
                                            "benchmark_source": source}.items()):
            rhos.insert(pos, col, value)
        print(f"{key}: {rhos['n_pairs'].iloc[0]} pairs used, {rhos['n_dropped'].iloc[0]} dropped (OOV)", file=sys.stderr)
        if rhos["reason"].iloc[0]:
            print(f"{key}: not available: {rhos['reason'].iloc[0]}", file=sys.stderr)
        with atomic_path(out) as tmp:
            rhos.to_csv(tmp, index=False)
