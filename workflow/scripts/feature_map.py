"""Adapter: feature files -> class-based retrieval mAP per feature set, beside the paper's (Supplement B)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.io import atomic_path, log_to
from crossmodal.tables.feature_map import feature_map_report

with log_to(snakemake.log[0]):
    files = {role: str(path) for role, path in snakemake.input.items()}
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    table = feature_map_report(snakemake.params.plan, files, log=say)
    with atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, index=False)
    print(table.to_string(), file=sys.stderr)
