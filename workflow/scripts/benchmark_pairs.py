"""Adapter: a raw benchmark file -> word1/word2/score TSV."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.wordsim import read_wordsim
from crossmodal.io import atomic_path, log_to

with log_to(snakemake.log[0]):
    pairs = read_wordsim(snakemake.input[0])
    print(f"{snakemake.params.source}: {len(pairs)} pairs", file=sys.stderr)
    with atomic_path(snakemake.output[0]) as tmp:
        pairs.to_csv(tmp, sep="\t", index=False)
