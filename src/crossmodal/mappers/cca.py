"""CCA and kernel CCA as shared-space mappings (g: X -> Z, h: Y -> Z), implemented in
``crossmodal.mappers.cca_fit`` (numpy, scipy and cca-zoo, imported when they run).

* ``cca``: canonical ridge CCA on standardised features; components and shrinkage by CV (one
  fit per setting: every setting is a cheap variant).
* ``kcca``: kernel CCA (RBF, median-heuristic width) solved in the kernels' eigenbases; the width
  is a base setting, shrinkage and components are variants of one eigendecomposition.
"""

from __future__ import annotations

from crossmodal.mappers.registry import MapperSpec, Param, grid_product, register

register(MapperSpec(
    "cca", "cca", "shared", "cca-zoo RidgeCCA on standardised features; components and shrinkage by CV",
    "crossmodal.mappers.cca_fit:CCA",
    params=(Param("n_components", int, 8, "canonical components"),
            Param("shrinkage", float, 0.0, "c: 0 is CCA, 1 is PLS")),
    grid=(({}, grid_product(n_components=(2, 4, 8, 16), shrinkage=(0.0, 0.1, 0.5))),)))
register(MapperSpec(
    "kcca", "cca", "shared", "kernel CCA (RBF, median-heuristic width) solved in the kernels' eigenbases; "
    "width, shrinkage and components by CV", "crossmodal.mappers.cca_fit:KCCA",
    params=(Param("kernel", str, "rbf", "rbf or linear"),
            Param("gamma_scale", float, 1.0, "RBF width: gamma = gamma_scale / median squared distance"),
            Param("n_components", int, 8, "canonical components"),
            Param("shrinkage", float, 0.1, "c of the within-view blocks")),
    grid=tuple(({"kernel": "rbf", "gamma_scale": g}, grid_product(shrinkage=(0.1, 0.5), n_components=(8, 16, 32)))
               for g in (0.5, 1.0, 2.0))))
