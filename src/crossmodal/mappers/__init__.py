"""crossmodal.mappers: the one registry of mappings f (``registry``), one module per family that
registers its mappings (``closed_form``, ``paper``, ``remedies``, ``cca``, ``towers``), and the
fitting protocol every mapping follows (``fitting``).

Names are loaded on first use (``crossmodal._lazy``): listing the mappings imports no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossmodal._lazy import lazy_exports

_WHERE = {
    "Fitted": "fitting",
    "MapperSpec": "registry",
    "Param": "registry",
    "SelectContext": "fitting",
    "Selection": "fitting",
    "choices": "registry",
    "fit_folds": "fitting",
    "get": "registry",
    "names": "registry",
    "register": "registry",
    "resolve": "registry",
    "select": "fitting",
    "table_names": "registry",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from crossmodal.mappers.fitting import Fitted, SelectContext, Selection, fit_folds, select
    from crossmodal.mappers.registry import MapperSpec, Param, choices, get, names, register, resolve, table_names


__getattr__ = lazy_exports(__name__, _WHERE)
