"""Adapter: concept set / synset centroids -> visual word vectors (KeyedVectors) + label file."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.paired import load_paired
from crossmodal.features.visual_words import concept_visual_words, save_visual_words, synset_visual_words
from crossmodal.io import log_to

with log_to(snakemake.log[0]):
    if snakemake.params.kind == "concepts":
        vw = concept_visual_words(load_paired(snakemake.input[0]))
    else:
        vw = synset_visual_words(snakemake.input[0])
    print(f"{snakemake.wildcards.visual}: {vw.label}", file=sys.stderr)
    save_visual_words(vw, snakemake.output.kv, snakemake.output.info)  # both atomic
