# Helpers shared by the rules: source lookup, target lists from config. No rules here.
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from crossmodal.datasets.wordsim import BENCHMARKS, PACKAGE_BENCHMARKS, PAPER_BENCHMARKS
from crossmodal.sources import load_registry, source_path

SOURCES = load_registry(Path(workflow.basedir) / "workflow" / "sources.yaml")
MIRROR_DIR = config.get("mirror_dir")


def alternation(values):
    """A regex matching exactly the given names (longest first), to constrain a wildcard."""
    return "|".join(sorted({re.escape(str(v)) for v in values}, key=len, reverse=True))


def source_file(name):
    """Where the fetch_source rule puts registry entry ``name``."""
    if name not in SOURCES:
        raise WorkflowError(f"config names source {name!r}, which workflow/sources.yaml does not declare")
    return source_path(SOURCES, name)


def word_vector_spec(name):
    specs = config["word_vectors"]
    if name not in specs:
        raise WorkflowError(f"{name!r} is not a key of config word_vectors (have: {sorted(specs)})")
    return specs[name]


def word_vector_inputs(wildcards):
    """The files one word-vector set is built from: registry sources or the user's own paths."""
    spec = word_vector_spec(wildcards.embedding)
    if "sources" in spec:
        return [source_file(s) for s in spec["sources"]]
    return spec["paths"]


def experiment2_benchmarks():
    chosen = config["experiment2"]["benchmarks"]
    if chosen == "auto":
        return list(PAPER_BENCHMARKS if MIRROR_DIR else PACKAGE_BENCHMARKS)
    return list(chosen)


def benchmark_source(key):
    """The registry entry a benchmark is read from.

    With a mirror, the full release; without one, the copy bundled in an installed package
    when there is one; otherwise the full release from the network.
    """
    bench = BENCHMARKS[key]
    if MIRROR_DIR or bench.package_source is None:
        return bench.mirror_source
    return bench.package_source


def experiment2_outputs():
    return expand(
        "results/experiment2/{embedding}/{benchmark}.csv",
        embedding=config["experiment2"]["embeddings"],
        benchmark=experiment2_benchmarks(),
    )


def default_targets():
    return ["results/tables/table2.csv"]
