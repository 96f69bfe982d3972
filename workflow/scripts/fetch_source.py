"""Adapter for rule fetch_source: provide one registered source; stderr goes to the log."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.io import log_to
from crossmodal.sources import SourceError, fetch_source, load_registry

REPO = Path(snakemake.scriptdir).resolve().parents[1]

with log_to(snakemake.log[0]):
    name, filename = snakemake.wildcards.source, snakemake.wildcards.filename
    source = load_registry(REPO / "workflow" / "sources.yaml")[name]
    if filename != source.filename:
        raise SourceError(name, f"asked for file {filename!r}, but the registry names it {source.filename!r}")
    mirror_dir = snakemake.params.mirror_dir
    if mirror_dir:  # a relative mirror_dir is relative to the project root (config schema)
        mirror_dir = REPO / mirror_dir
    mirror_url = snakemake.params.mirror_url or None
    report = fetch_source(source, Path(snakemake.output[0]), mirror_dir or None, progress=True, mirror_url=mirror_url)
    print(json.dumps(report.to_dict(), sort_keys=True), file=sys.stderr)
