"""Which files an HTTP mirror (config ``mirror_url``) holds, asked while Snakemake builds its graph.

The workflow treats a file on the HTTP mirror like a file in a mirror folder: it is "at hand"
(datasets with ``enabled: auto``, the benchmarks of ``experiment2.benchmarks: auto``). To learn
what the mirror holds without downloading anything:

1. one GET of ``<mirror_url>/SHA256SUMS``, the index a mirror folder carries (``sha256sum``
   format, ``<hex>  ./<path>`` per line, as in ../shared/data); when present it is
   authoritative: a file is at hand exactly when the index lists it;
2. otherwise one HEAD request per file asked about (pooch's ``check_only``), answered once
   per run (cached).

Every request has a short timeout (:data:`PROBE_TIMEOUT`). An unreachable mirror counts as
empty, with one warning on stderr; fetching then fails with the reason.
"""

from __future__ import annotations

import sys
from functools import cache
from urllib.parse import quote

import pooch

__all__ = ["PROBE_TIMEOUT", "HttpMirror", "parse_sha256sums"]

#: Seconds for each request made while the job graph is built.
PROBE_TIMEOUT = 5.0
INDEX_NAME = "SHA256SUMS"


def parse_sha256sums(text: str) -> dict[str, str]:
    """``{relative path: sha256}`` from ``sha256sum`` output (paths may start with ``./``)."""
    sums = {}
    for line in text.splitlines():
        digest, _, rel = line.strip().partition(" ")
        rel = rel.strip().lstrip("*")  # "*" marks binary mode in sha256sum output
        if len(digest) == 64 and rel:
            sums[rel.removeprefix("./")] = digest.lower()
    return sums


class HttpMirror:
    """An HTTP mirror at ``base_url``: files at ``<base_url>/<mirror_path>``."""

    def __init__(self, base_url: str, timeout: float = PROBE_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self._warned = False
        # Per instance, so that a test's second mirror is asked afresh.
        self.index = cache(self._read_index)
        self.has = cache(self._has)

    def url(self, relpath: str) -> str:
        return self.base_url + quote(relpath)

    def _read_index(self) -> dict[str, str] | None:
        """The mirror's SHA256SUMS as ``{path: sha256}``, or None when it has none."""
        import requests  # pooch's HTTP client

        try:
            response = requests.get(self.url(INDEX_NAME), timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            self._warn(f"{type(exc).__name__}: {exc}")
            return None
        if response.status_code != 200:
            return None
        return parse_sha256sums(response.text)

    def _has(self, relpath: str) -> bool:
        """Whether the mirror holds ``relpath`` (its index, or one HEAD request)."""
        import requests

        index = self.index()
        if index is not None:
            return relpath in index
        try:
            return bool(pooch.HTTPDownloader(timeout=self.timeout)(self.url(relpath), None, None, check_only=True))
        except requests.exceptions.RequestException as exc:
            self._warn(f"{type(exc).__name__}: {exc}")
            return False

    def _warn(self, reason: str) -> None:
        if not self._warned:
            self._warned = True
            reason = " ".join(reason.split())
            print(f"WARNING: mirror_url {self.base_url} did not answer ({reason}); its files count as absent",
                  file=sys.stderr, flush=True)
