"""The one list of mappings: every mapping f the project can fit is registered here once, by the
module of its family, and everything else (the CLI's ``--mapper`` choices, the config's mapping
names, the rows of Tables 13 and 14, the plan) is derived from this registry.

Light on purpose: this module and the family modules that register into it import nothing
heavy (no torch, scikit-learn or scipy), so ``crossmodal bridge --help`` can list the mappings
at once. A mapping's implementation is imported only when it runs (:meth:`MapperSpec.load`).

**The protocol.** A mapping is fitted on training rows (X, Y, with labels where the method uses
them) and then maps X:

* ``space="Y"`` (regression maps): ``Fitted.map_x(X)`` = f(X) lies in Y's space, and
  ``Fitted.map_y(Y)`` is Y itself. Neighbourhoods of f(X) are compared with those of X and of Y.
* ``space="shared"`` (the CCA family, two-tower models): g maps X and h maps Y into one space
  Z; ``map_x`` is g and ``map_y`` is h. Neighbourhoods of g(X) are taken in Z and compared with
  those of X (in X's own space) and of h(Y) (in Z), the other modality as the shared space
  represents it; mNNO(X, Y) stays in the raw spaces.

An implementation (what :meth:`MapperSpec.load` returns) has ``fit(X, Y, labels, params, seed,
device) -> Fitted``; it may also have ``fit_folds`` (fit several folds at once, e.g. one batched
stack) and ``select`` (its own hyper-parameter search for Tables 13/14); without them the
generic ones of ``crossmodal.mappers.fitting`` apply.

**Plugins.** A module or ``.py`` file that calls :func:`register` adds mappings without editing
any file here: name it in the environment variable ``CROSSMODAL_MAPPER_PLUGINS``
(``os.pathsep``-separated) or in the workflow config's ``mapper_plugins``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

PLUGINS_ENV = "CROSSMODAL_MAPPER_PLUGINS"
# The built-in families, in the order their mappings appear in tables and listings.
FAMILIES: tuple[str, ...] = ("closed_form", "paper", "remedies", "cca", "towers")

Params = dict[str, Any]
Grid = tuple[tuple[Params, tuple[Params, ...]], ...]  # (base setting, variants one fit yields at once)


def grid_product(**axes: Sequence[Any]) -> tuple[Params, ...]:
    """Every combination of the axes, the first axis slowest."""
    import itertools

    keys = list(axes)
    return tuple(dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys)))


@dataclass(frozen=True)
class Param:
    """One typed hyper-parameter: its name, type, default and what it means."""

    name: str
    type: type
    default: Any
    help: str = ""

    def parse(self, text: str) -> Any:
        """The value of ``text`` (``none`` for None) as this parameter's type."""
        if text.lower() in ("none", "null"):
            return None
        if self.type is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"{self.name} takes true or false, got {text!r}")
            return text.lower() in ("true", "1")
        try:
            return self.type(text)
        except ValueError:
            raise ValueError(f"{self.name} takes a {self.type.__name__}, got {text!r}") from None


@dataclass(frozen=True)
class MapperSpec:
    """A registered mapping.

    ``params``: its typed hyper-parameters with the defaults ``crossmodal bridge`` fits with;
    ``grid``: the settings its cross-validation searches for Tables 13/14 (base settings, each
    with the variants one fit yields); ``devices``: the torch device kinds it can use;
    ``in_tables``: evaluated by default in Tables 13/14 (``methods.methods: [all]``);
    ``experiment1``: one of the paper's Experiment 1 maps.
    """

    name: str
    family: str
    space: Literal["Y", "shared"]
    summary: str
    implementation: str | Callable[[], Any]  # "module:attribute", "module:DICT[key]", or a callable returning it
    params: tuple[Param, ...] = ()
    grid: Grid = ()
    devices: tuple[str, ...] = ("cpu",)
    needs_labels: bool = False
    in_tables: bool = True
    experiment1: bool = False
    aliases: tuple[str, ...] = ()

    def load(self) -> Any:
        """The implementation (imports its module now)."""
        if callable(self.implementation):
            return self.implementation()
        module, _, attr = self.implementation.partition(":")
        name, _, key = attr.partition("[")  # "module:TABLE[key]": one entry of a dict
        found = getattr(importlib.import_module(module), name)
        return found[key.rstrip("]")] if key else found

    def defaults(self) -> Params:
        return {p.name: p.default for p in self.params}

    def resolve_params(self, given: Mapping[str, Any] | None) -> Params:
        """The defaults updated with ``given``; an unknown name is an error naming the known ones."""
        known = {p.name for p in self.params}
        unknown = sorted(set(given or {}) - known)
        if unknown:
            raise ValueError(f"mapper {self.name!r} has no parameter {', '.join(unknown)}; "
                             f"its parameters: {', '.join(sorted(known)) or 'none'}")
        return {**self.defaults(), **dict(given or {})}


_REGISTRY: dict[str, MapperSpec] = {}
_ALIASES: dict[str, str] = {}
_LOADED: list[str] = []  # built-in families and plugins already imported


def register(spec: MapperSpec) -> MapperSpec:
    """Add ``spec``; a name or alias already taken is an error (re-registering the same spec,
    as a re-imported plugin does, is allowed)."""
    taken = _REGISTRY.get(spec.name)
    if taken is not None and taken != spec:
        raise ValueError(f"mapper {spec.name!r} is already registered (family {taken.family})")
    for alias in spec.aliases:
        if alias in _REGISTRY or _ALIASES.get(alias, spec.name) != spec.name:
            raise ValueError(f"alias {alias!r} of {spec.name!r} is already taken")
    if spec.name in _ALIASES:
        raise ValueError(f"mapper name {spec.name!r} is already an alias of {_ALIASES[spec.name]!r}")
    _REGISTRY[spec.name] = spec
    _ALIASES.update({alias: spec.name for alias in spec.aliases})
    return spec


def load_plugin(ref: str) -> None:
    """Import a plugin: a module name, or a path to a ``.py`` file (imported once)."""
    if ref in _LOADED:
        return
    if ref.endswith(".py") or os.sep in ref:
        path = Path(ref)
        if not path.is_file():
            raise ValueError(f"mapper plugin {ref!r}: no such file")
        name = f"crossmodal_plugin_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ValueError(f"mapper plugin {ref!r}: not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        importlib.import_module(ref)
    _LOADED.append(ref)


def plugins_from_env() -> list[str]:
    return [p for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p]


def use_plugins(refs: Sequence[str]) -> None:
    """Load ``refs`` here and name them in the environment, so child processes (workflow jobs)
    load them too."""
    for ref in refs:
        load_plugin(ref)
    merged = list(dict.fromkeys([*plugins_from_env(), *refs]))
    if merged:
        os.environ[PLUGINS_ENV] = os.pathsep.join(merged)


def _ensure_loaded() -> None:
    for family in FAMILIES:
        if family not in _LOADED:
            importlib.import_module(f"crossmodal.mappers.{family}")
            _LOADED.append(family)
    for ref in plugins_from_env():
        load_plugin(ref)


def all_specs() -> list[MapperSpec]:
    """Every registered mapping, built-in families first (in ``FAMILIES`` order), then plugins."""
    _ensure_loaded()
    # Family order, not import order (``crossmodal.names`` imports ``paper`` first); a stable sort
    # keeps each family's registration order, and plugins come last.
    rank = {family: i for i, family in enumerate(FAMILIES)}
    return sorted(_REGISTRY.values(), key=lambda s: rank.get(s.family, len(FAMILIES)))


def names() -> tuple[str, ...]:
    return tuple(s.name for s in all_specs())


def table_names() -> tuple[str, ...]:
    """The mappings Tables 13/14 evaluate by default."""
    return tuple(s.name for s in all_specs() if s.in_tables)


def experiment1_names() -> tuple[str, ...]:
    """The paper's Experiment 1 maps, in table order."""
    return tuple(s.name for s in all_specs() if s.experiment1)


def get(name: str) -> MapperSpec:
    """The mapping called ``name`` (or one of its aliases)."""
    _ensure_loaded()
    key = _ALIASES.get(name, name)
    if key not in _REGISTRY:
        raise ValueError(f"unknown mapper {name!r}; use one of {', '.join(choices())}")
    return _REGISTRY[key]


def choices() -> list[str]:
    """Names and aliases, as the CLI accepts them."""
    specs = all_specs()
    return [s.name for s in specs] + [alias for s in specs for alias in s.aliases]


def resolve(selection: str | Sequence[str], *, has_labels: bool = False) -> list[str]:
    """Registered names for ``"a,b,c"``, a list of names, or ``"all"``.

    ``all`` means every mapping that can run on the data: without labels, those that need them
    are left out.
    """
    items = [s.strip() for s in selection.split(",")] if isinstance(selection, str) else [str(s) for s in selection]
    out: list[str] = []
    for item in items:
        if not item:
            raise ValueError("empty mapper name in the list")
        if item == "all":
            picked = [s.name for s in all_specs() if has_labels or not s.needs_labels]
        else:
            picked = [get(item).name]
        out += [p for p in picked if p not in out]
    return out
