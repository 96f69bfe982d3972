"""Adapter: package files -> the ImageNet-1k concept set (Experiment 1) + its coverage report."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.datasets.experiment1 import concept_set
from crossmodal.io import atomic_path, log_to

i = snakemake.input
with log_to(snakemake.log[0]):
    ps, report = concept_set(i.weights, i.synsets, i.lemmas, i.glove_emb, i.glove_index,
                             name="imagenet1k_concepts", multiword=snakemake.params.multiword)
    print(report.summary(), file=sys.stderr)
    ps.save(snakemake.output.data)  # atomic (crossmodal.io.atomic_path inside save_paired)
    with atomic_path(snakemake.output.coverage) as tmp:
        tmp.write_text(json.dumps(report.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
