"""Adapter: an ImageNet-style folder (<synset>/<images>) -> one centroid per synset word."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.features.images import load_encoder
from crossmodal.features.synsets import save_synset_vectors, synset_centroids
from crossmodal.io import log_to

i, spec = snakemake.input, snakemake.params.spec
with log_to(snakemake.log[0]):
    encoder = load_encoder(spec["encoder"], i.weights, device=snakemake.params.device)
    sv = synset_centroids(spec["folder"], encoder, min_images=spec["min_images"], lemmas=i.lemmas,
                          batch_size=spec["batch_size"], on_error=spec["on_error"], progress=False)
    print(sv.summary(), file=sys.stderr)
    for path, reason in sv.skipped_images:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    save_synset_vectors(snakemake.output[0], sv)  # atomic (crossmodal.io.atomic_path inside)
