"""Snakemake adapter for rule fetch_source: provide one registered source; stderr goes to the log."""

import contextlib
import json
import sys
import traceback
from pathlib import Path

# scriptdir may be unnormalised (workflow/rules/../scripts): resolve before walking up.
REPO = Path(snakemake.scriptdir).resolve().parents[1]  # noqa: F821 (set by Snakemake's script directive)
sys.path.insert(0, str(REPO / "src"))

from crossmodal.sources import SourceError, fetch_source, load_registry  # noqa: E402


def main(smk) -> None:
    name, filename = smk.wildcards.source, smk.wildcards.filename
    registry = load_registry(REPO / "workflow" / "sources.yaml")
    if name not in registry:
        raise SourceError(name, "not registered in workflow/sources.yaml")
    source = registry[name]
    if filename != source.filename:
        raise SourceError(name, f"asked for file {filename!r}, but the registry names it {source.filename!r}")
    mirror_dir = smk.params.mirror_dir
    if mirror_dir:  # relative mirror_dir: relative to the project root (config schema)
        mirror_dir = Path(mirror_dir) if Path(mirror_dir).is_absolute() else REPO / mirror_dir
    report = fetch_source(source, Path(smk.output[0]), mirror_dir or None, progress=True)
    print(json.dumps(report.to_dict(), sort_keys=True), file=sys.stderr)


# The log is written directly, not atomically, so that it survives a failed fetch.
with open(snakemake.log[0], "w", encoding="utf-8") as log, contextlib.redirect_stderr(log):  # noqa: F821
    try:
        main(snakemake)  # noqa: F821
    except SourceError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        raise
    except Exception:
        traceback.print_exc()
        raise
