"""The sources registry: every external input of the workflow, declared once.

``workflow/sources.yaml`` maps a source name to one entry; the header comment of that file
explains the fields. :func:`load_registry` reads and validates it into :class:`Source` objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml

__all__ = [
    "KINDS",
    "Checks",
    "RESOURCES_DIR",
    "RegistryError",
    "Source",
    "SourceError",
    "default_registry_path",
    "load_registry",
    "source_path",
]

Kind = Literal["file", "archive", "package"]
KINDS: tuple[str, ...] = ("file", "archive", "package")

#: Where the workflow keeps fetched sources, relative to the working directory.
RESOURCES_DIR = "resources/sources"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_HEX_DIGITS = {"sha256": 64, "sha1": 40, "md5": 32, "git_blob_sha1": 40}
_PREFIX_RE = re.compile(r"^[0-9a-f]{8,63}$")
_FILENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")

_REQUIRED = ("kind", "filename", "description", "licence", "urls", "sha256", "size", "verified")
_OPTIONAL = (
    "md5",
    "sha1",
    "sha256_prefix",
    "git_blob_sha1",
    "homepage",
    "note",
    "mirror_path",
    "mirror_sha256",
    "mirror_size",
    "mirror_only",
    "package",
    "package_path",
    "requirement",
)
_PACKAGE_FIELDS = ("package", "package_path", "requirement")
_MIRROR_FIELDS = ("mirror_path", "mirror_sha256", "mirror_size", "mirror_only")


class SourceError(Exception):
    """A source could not be provided. ``str(err)`` is a single line that names the source,
    says what went wrong and how to provide the file."""

    def __init__(self, source: str, problem: str, remedy: str | None = None) -> None:
        self.source = source
        self.problem = _one_line(problem)
        self.remedy = _one_line(remedy) if remedy else None
        message = f"source {source}: {self.problem}"
        if self.remedy:
            message += f". To provide it: {self.remedy}"
        super().__init__(message)


class RegistryError(SourceError):
    """The registry file is malformed (the message names the offending entry)."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Checks:
    """What a copy of a source must satisfy. ``hashes`` are pooch ``known_hash`` strings
    ("sha256:…", "sha1:…", "md5:…"), strongest first; the other two are checks pooch cannot make
    (see crossmodal.sources.fetch)."""

    hashes: tuple[str, ...] = ()
    size: int | None = None
    sha256_prefix: str | None = None
    git_blob_sha1: str | None = None

    @property
    def verified(self) -> bool:
        """True when a full checksum is checked (a sha256 prefix alone is a partial check)."""
        return bool(self.hashes) or self.git_blob_sha1 is not None

    def describe(self) -> str:
        """The checksums, for a person: "sha256 …", "md5 …", "sha256 prefix …", "git blob …"."""
        parts = [h.replace(":", " ", 1) for h in self.hashes]
        if self.sha256_prefix:
            parts.append(f"sha256 prefix {self.sha256_prefix}")
        if self.git_blob_sha1:
            parts.append(f"git blob {self.git_blob_sha1}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Source:
    """One external input. See the header of ``workflow/sources.yaml`` for the field meanings."""

    name: str
    kind: Kind
    filename: str
    description: str
    licence: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None
    verified: bool
    homepage: str | None = None
    note: str | None = None
    mirror_path: str | None = None
    mirror_sha256: str | None = None
    mirror_size: int | None = None
    mirror_only: bool = False
    package: str | None = None
    package_path: str | None = None
    requirement: str | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256_prefix: str | None = None
    git_blob_sha1: str | None = None

    @property
    def upstream_checks(self) -> Checks:
        """Checks of the upstream bytes (a network download, an installed package's file)."""
        hashes = tuple(f"{alg}:{value}" for alg, value in (("sha256", self.sha256), ("sha1", self.sha1), ("md5", self.md5)) if value)
        return Checks(hashes, self.size, self.sha256_prefix, self.git_blob_sha1)

    @property
    def mirror_checks(self) -> Checks:
        """Checks of a mirror copy: ``mirror_sha256``/``mirror_size`` for a repack, else the upstream ones."""
        if self.mirror_sha256 is not None:
            return Checks((f"sha256:{self.mirror_sha256}",), self.mirror_expected_size)
        return Checks(self.upstream_checks.hashes, self.mirror_expected_size, self.sha256_prefix, self.git_blob_sha1)

    @property
    def mirror_relpath(self) -> str:
        """Path of this source inside a mirror folder (default ``<name>/<filename>``)."""
        return self.mirror_path or f"{self.name}/{self.filename}"

    @property
    def mirror_expected_sha256(self) -> str | None:
        """Checksum a mirror copy must have: ``mirror_sha256`` if given, else ``sha256``."""
        return self.mirror_sha256 or self.sha256

    @property
    def mirror_expected_size(self) -> int | None:
        return self.mirror_size if self.mirror_size is not None else self.size

    @property
    def resource_path(self) -> str:
        """Workflow-relative output path, ``resources/sources/<name>/<filename>``."""
        return f"{RESOURCES_DIR}/{self.name}/{self.filename}"


def default_registry_path() -> Path:
    """``workflow/sources.yaml`` of the source checkout this package was imported from."""
    return Path(__file__).resolve().parents[3] / "workflow" / "sources.yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise RegistryError(
                str(key), f"duplicate key {key!r} at line {key_node.start_mark.line + 1} of the registry"
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_registry(path: str | Path | None = None) -> dict[str, Source]:
    """Read and validate a sources registry; return ``{name: Source}`` in file order.

    Raises :class:`RegistryError` (naming the entry) for unknown fields or kinds, missing
    required fields, malformed checksums, or inconsistent combinations of fields.
    """
    path = Path(path) if path is not None else default_registry_path()
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_UniqueKeyLoader)
    if not isinstance(doc, dict) or set(doc) != {"sources"} or not isinstance(doc["sources"], dict):
        raise RegistryError(str(path), "the registry must be a mapping with a single key 'sources: {name: entry}'")
    registry: dict[str, Source] = {}
    for name, entry in doc["sources"].items():
        registry[str(name)] = _parse_entry(name, entry)
    return registry


def source_path(registry: dict[str, Source], name: str) -> str:
    """``resources/sources/<name>/<filename>`` for a registered source (for Snakemake inputs)."""
    try:
        return registry[name].resource_path
    except KeyError:
        raise RegistryError(name, "not registered in workflow/sources.yaml") from None


# --------------------------------------------------------------------------- validation


def _parse_entry(name: Any, entry: Any) -> Source:
    def fail(problem: str) -> RegistryError:
        return RegistryError(str(name), f"invalid registry entry: {problem}")

    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise fail("names must match [a-z][a-z0-9_]*")
    if not isinstance(entry, dict):
        raise fail("the entry must be a mapping")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise fail(f"unknown field(s) {', '.join(map(str, unknown))}")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise fail(f"missing field(s) {', '.join(missing)}")

    kind = entry["kind"]
    if kind not in KINDS:
        raise fail(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")

    for key in ("filename", "description", "licence"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise fail(f"{key} must be a non-empty string")
    for key in ("homepage", "note", "mirror_path", "package", "package_path", "requirement"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise fail(f"{key} must be a non-empty string")
    if not _FILENAME_RE.match(entry["filename"]) or entry["filename"] in (".", ".."):
        raise fail(f"filename {entry['filename']!r} must be a plain file name (no folders)")

    urls = entry["urls"]
    if isinstance(urls, str) or not isinstance(urls, list):
        raise fail("urls must be a list (empty when no public download is known)")
    if not urls and kind == "package":
        raise fail("urls must name the package release for kind package")
    if not urls and ("homepage" not in entry or "note" not in entry):
        raise fail("urls: [] (no public download) needs a homepage and a note saying how to obtain the file")
    for url in urls:
        if not isinstance(url, str) or not re.match(r"^https?://\S+$", url):
            raise fail(f"url {url!r} is not an http(s) URL")
    if "homepage" in entry and not re.match(r"^https?://\S+$", entry["homepage"]):
        raise fail(f"homepage {entry['homepage']!r} is not an http(s) URL")

    sha256 = _check_hex(entry["sha256"], "sha256", fail)
    md5, sha1, git_blob_sha1 = (_check_hex(entry.get(key), key, fail) for key in ("md5", "sha1", "git_blob_sha1"))
    sha256_prefix = entry.get("sha256_prefix")
    if sha256_prefix is not None and (not isinstance(sha256_prefix, str) or not _PREFIX_RE.match(sha256_prefix)):
        raise fail("sha256_prefix must be 8 to 63 lowercase hex digits (quoted when all are digits)")
    if sha256_prefix is not None and sha256 is not None:
        raise fail("sha256_prefix with sha256: drop the prefix")
    size = _check_size(entry["size"], "size", fail)
    verified = entry["verified"]
    if not isinstance(verified, bool):
        raise fail("verified must be true or false")
    if verified != any(h is not None for h in (sha256, sha1, md5, git_blob_sha1)):
        raise fail(
            "verified must be true exactly when a checksum (sha256, sha1, md5 or git_blob_sha1) is given "
            "(use sha256: null, verified: false)"
        )
    if sha256 is not None and size is None:
        raise fail("an entry with sha256 needs its size as well")

    mirror_path = entry.get("mirror_path")
    mirror_sha256 = _check_hex(entry.get("mirror_sha256"), "mirror_sha256", fail)
    mirror_size = _check_size(entry.get("mirror_size"), "mirror_size", fail)
    mirror_only = entry.get("mirror_only", False)
    if not isinstance(mirror_only, bool):
        raise fail("mirror_only must be true or false")

    if kind == "package":
        absent = [key for key in _PACKAGE_FIELDS if key not in entry]
        if absent:
            raise fail(f"kind package needs {', '.join(absent)}")
        present = [key for key in _MIRROR_FIELDS if key in entry]
        if present:
            raise fail(f"kind package takes no {', '.join(present)}")
        if sha256 is None:
            raise fail("kind package must give the sha256 and size of the installed file")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", entry["package"]):
            raise fail(f"package {entry['package']!r} must be a top-level import name")
        _check_relpath(entry["package_path"], "package_path", fail)
        if not re.match(r"^[A-Za-z0-9._-]+==[A-Za-z0-9._+-]+$", entry["requirement"]):
            raise fail(f"requirement {entry['requirement']!r} must pin one version, e.g. gensim==4.4.0")
    else:
        present = [key for key in _PACKAGE_FIELDS if key in entry]
        if present:
            raise fail(f"kind {kind} takes no {', '.join(present)}")
        if mirror_path is not None:
            _check_relpath(mirror_path, "mirror_path", fail)
        if (mirror_sha256 is not None or mirror_size is not None) and mirror_path is None:
            raise fail("mirror_sha256/mirror_size need mirror_path")
        if mirror_path is not None:
            checksum = mirror_sha256 or sha256 or sha1 or md5 or git_blob_sha1
            if checksum is None or (mirror_size if mirror_size is not None else size) is None:
                raise fail("a mirrored entry needs the mirror copy's checksum and size (mirror_sha256, mirror_size)")
            if mirror_sha256 is not None and mirror_sha256 == sha256:
                raise fail("mirror_sha256 equals sha256: drop it (it defaults to sha256)")
        if mirror_only and mirror_path is None:
            raise fail("mirror_only needs mirror_path")

    return Source(
        name=name,
        kind=kind,
        filename=entry["filename"],
        description=_one_line(entry["description"]),
        licence=_one_line(entry["licence"]),
        urls=tuple(urls),
        sha256=sha256,
        size=size,
        verified=verified,
        homepage=entry.get("homepage"),
        note=_one_line(entry["note"]) if "note" in entry else None,
        mirror_path=mirror_path,
        mirror_sha256=mirror_sha256,
        mirror_size=mirror_size,
        mirror_only=mirror_only,
        package=entry.get("package"),
        package_path=entry.get("package_path"),
        requirement=entry.get("requirement"),
        md5=md5,
        sha1=sha1,
        sha256_prefix=sha256_prefix,
        git_blob_sha1=git_blob_sha1,
    )


def _check_hex(value: Any, key: str, fail) -> str | None:
    """A hex digest of the length its algorithm gives (mirror_sha256 is a sha256), or None."""
    if value is None:
        return None
    digits = _HEX_DIGITS[key.removeprefix("mirror_")]
    if not isinstance(value, str) or not re.fullmatch(f"[0-9a-f]{{{digits}}}", value):
        raise fail(f"{key} must be {digits} lowercase hex digits or null")
    return value


def _check_size(value: Any, key: str, fail) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(f"{key} must be a byte count or null")
    return value


def _check_relpath(value: str, key: str, fail) -> None:
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or "\\" in value or value.endswith("/"):
        raise fail(f"{key} {value!r} must be a relative path to a file, without '..'")
