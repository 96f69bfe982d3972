"""Adapter for rule fetch_source: provide one registered source; stderr goes to the log."""
import json
import sys
from pathlib import Path

REPO = Path(snakemake.scriptdir).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from crossmodal.io import log_to
from crossmodal.sources import SourceError, fetch_source, load_registry

with log_to(snakemake.log[0]):
    name, filename = snakemake.wildcards.source, snakemake.wildcards.filename
    source = load_registry(REPO / "workflow" / "sources.yaml")[name]
    if filename != source.filename:
        raise SourceError(name, f"asked for file {filename!r}, but the registry names it {source.filename!r}")
    mirror_dir = snakemake.params.mirror_dir
    if mirror_dir:  # a relative mirror_dir is relative to the project root (config schema)
        mirror_dir = REPO / mirror_dir
    report = fetch_source(source, Path(snakemake.output[0]), mirror_dir or None, progress=True)
    print(json.dumps(report.to_dict(), sort_keys=True), file=sys.stderr)
