"""What the plan may know besides the config (:class:`World`), its error, and the lookups every
part of the plan shares: registry entries, config file references, word-vector sets."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossmodal.sources.registry import Source, source_path


def alternation(values: Sequence[object] | Mapping[str, object]) -> str:
    """A regex matching exactly the given names (longest first), to constrain a wildcard."""
    return "|".join(sorted({re.escape(str(v)) for v in values}, key=len, reverse=True))


class PlanError(ValueError):
    """The config asks for something this machine cannot provide; the message names the key."""


@dataclass(frozen=True)
class World:
    """What the plan may know besides the config."""

    sources: Mapping[str, Source]
    at_hand: frozenset[str]  # registry entries available without the upstream network
    mirror: str | None  # the mirror folder or URL in use, for messages
    root: Path  # the project root; relative config paths are relative to it

    def local(self, path: str) -> Path:
        return self.root / path

    @classmethod
    def observe(cls, sources: Mapping[str, Source], root: Path, mirror_dir: str | None = None,
                mirror_url: str | None = None) -> World:
        """The world as it is: installed packages' files are at hand, and so is what the mirror
        holds (a folder: the file is there; HTTP: see crossmodal.sources.mirror.HttpMirror)."""
        if mirror_dir and mirror_url:
            raise PlanError(f"invalid config: mirror_dir ({mirror_dir}) and mirror_url ({mirror_url}) are both set; "
                            "give one of them (mirror_url serves a mirror folder's layout over HTTP)")
        from crossmodal.sources.mirror import HttpMirror

        http = HttpMirror(mirror_url) if mirror_url else None

        def at_hand(source: Source) -> bool:
            if source.kind == "package":
                return True
            if http is not None:
                return http.has(source.mirror_relpath)
            return bool(mirror_dir) and (root / str(mirror_dir) / source.mirror_relpath).is_file()

        return cls(sources, frozenset(n for n, s in sources.items() if at_hand(s)), mirror_dir or mirror_url, root)


def source_file(world: World, name: str) -> str:
    """Where the fetch_source rule puts registry entry ``name``."""
    if name not in world.sources:
        raise PlanError(f"config names source {name!r}, which workflow/sources.yaml does not declare")
    return source_path(dict(world.sources), name)


def file_or_source(world: World, name: str) -> str:
    """A config file reference: a path (it has a '/') or a registry entry name."""
    return name if "/" in name else source_file(world, name)


def files_at_hand(world: World, files: Mapping[str, str]) -> bool:
    return all(Path(f).is_file() if "/" in f else f in world.at_hand for f in files.values())


def word_vector_spec(config: Mapping, name: str) -> Mapping[str, Any]:
    specs = config["word_vectors"]
    if name not in specs:
        raise PlanError(f"{name!r} is not a key of config word_vectors (have: {sorted(specs)})")
    return specs[name]


def word_vector_inputs(config: Mapping, world: World, name: str) -> list[str]:
    """The files one word-vector set is built from: registry sources or the user's own paths."""
    spec = word_vector_spec(config, name)
    return [source_file(world, s) for s in spec["sources"]] if "sources" in spec else list(spec["paths"])
