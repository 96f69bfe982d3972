"""Adapter: MatConvNet imagenet-vgg-m-128.mat -> a torch checkpoint (crossmodal.features.vggm)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.features.vggm import convert_matconvnet
from crossmodal.io import log_to

with log_to(snakemake.log[0]):
    ckpt = convert_matconvnet(snakemake.input[0], snakemake.output[0])  # atomic (crossmodal.io.atomic_path inside)
    print(f"{ckpt['source']}: {len(ckpt['spec'])} layers, image size {ckpt['image_size']}", file=sys.stderr)
