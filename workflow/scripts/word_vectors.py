"""Adapter: configured word-vector files -> checked gensim KeyedVectors."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.word_vector_files import load_word_vectors
from crossmodal.features.word_vectors import save_keyed_vectors
from crossmodal.io import log_to

with log_to(snakemake.log[0]):
    kv = load_word_vectors(snakemake.params.fmt, list(snakemake.input))
    print(f"{snakemake.wildcards.embedding}: {len(kv)} words x {kv.vector_size} dims", file=sys.stderr)
    save_keyed_vectors(kv, snakemake.output[0])
