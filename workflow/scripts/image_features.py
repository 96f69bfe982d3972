"""Adapter: a folder of images + id lists -> CNN features in id order (skipped images listed)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.features.images import folder_image_features, load_encoder, read_id_lists, save_image_features
from crossmodal.io import log_to

i, spec = snakemake.input, snakemake.params.spec
with log_to(snakemake.log[0]):
    ids = read_id_lists(list(i.ids), spec["id_column"])
    encoder = load_encoder(spec["encoder"], i.weights, device=snakemake.params.device)
    res = folder_image_features(spec["folder"], ids, encoder, batch_size=spec["batch_size"], on_error=spec["on_error"],
                                progress=True)
    print(f"{encoder.label}: {len(res.kept_ids)} of {len(ids)} images, {len(res.skipped)} skipped", file=sys.stderr)
    for image_id, reason in res.skipped:
        print(f"skipped {image_id}: {reason}", file=sys.stderr)
    save_image_features(snakemake.output[0], res)  # atomic (crossmodal.io.atomic_path inside)
