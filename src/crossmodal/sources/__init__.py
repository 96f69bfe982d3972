"""crossmodal.sources: the registry of external inputs and a verified fetcher (built on pooch).

>>> from crossmodal.sources import load_registry, fetch_source
>>> registry = load_registry("workflow/sources.yaml")          # doctest: +SKIP
>>> fetch_source(registry["wordsim_ws353_all"], "out/EN-WS-353-ALL.txt",
...              mirror_dir="../shared/data")                     # doctest: +SKIP
>>> fetch_source(registry["wordsim_ws353_all"], "out/EN-WS-353-ALL.txt",
...              mirror_url="http://mirror.example.org/data/")    # doctest: +SKIP
"""

from crossmodal.sources.fetch import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    FetchReport,
    fetch_source,
    sha256_file,
    unverified_warning,
)
from crossmodal.sources.mirror import HttpMirror
from crossmodal.sources.registry import (
    KINDS,
    RESOURCES_DIR,
    Checks,
    RegistryError,
    Source,
    SourceError,
    default_registry_path,
    load_registry,
    source_path,
)

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "KINDS",
    "RESOURCES_DIR",
    "Checks",
    "FetchReport",
    "HttpMirror",
    "RegistryError",
    "Source",
    "SourceError",
    "default_registry_path",
    "fetch_source",
    "load_registry",
    "sha256_file",
    "source_path",
    "unverified_warning",
]
