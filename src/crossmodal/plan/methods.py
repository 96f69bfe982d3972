"""The field's cross-modal methods (Tables 13 and 14): on which Experiment 1 datasets and feature
pairs they run, whether ``all`` builds them, and the neighbour settings their rules pass on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crossmodal.mappers.registry import get, table_names, use_plugins
from crossmodal.plan.exp1 import Experiment1
from crossmodal.plan.world import PlanError

METHODS_TABLES: tuple[str, ...] = ("results/tables/table13.csv", "results/tables/table14.csv")
METHODS_HYPERPARAMETERS = "results/methods/hyperparameters.csv"
METHODS_POINTS = "results/methods/bridging_vs_map.csv"
METHODS_FIGURE = "results/figures/methods_bridging_vs_map.png"
METHODS_PAGE = "results/report/methods.html"
METHODS_OUTPUTS: tuple[str, ...] = ("mnno", "retrieval", "hyperparameters")


@dataclass(frozen=True)
class Methods:
    """Which datasets and feature pairs the methods run on, and whether ``all`` builds them."""

    pairs: tuple[tuple[str, str, str], ...]  # (dataset, image, text), enabled Experiment 1 sets only
    in_all: bool
    ks: tuple[int, ...]  # neighbours.k: every K scored
    table_k: int  # neighbours.table_k: the K of Table 13
    mappings: tuple[str, ...] = ()  # registered names, in table order (methods.methods, `all` expanded)
    plugins: tuple[str, ...] = ()  # mapper_plugins files (absolute), inputs of the jobs that use them

    @property
    def dataset_files(self) -> list[str]:
        return [f"results/methods/{d}/{i}/{t}/{kind}.csv" for d, i, t in self.pairs for kind in METHODS_OUTPUTS]

    @property
    def targets(self) -> list[str]:
        """Tables 13 and 14, the chosen hyper-parameters, the figure and its report page."""
        return [*METHODS_TABLES, METHODS_HYPERPARAMETERS, METHODS_FIGURE, METHODS_PAGE] if self.pairs else []


def mapping_names(selection: list[str]) -> tuple[str, ...]:
    """Registered names for ``methods.methods``: `all` is every mapping registered for the tables."""
    out: list[str] = []
    for name in selection:
        try:
            picked = table_names() if name == "all" else (get(name).name,)
        except ValueError as err:
            raise PlanError(f"methods.methods: {err}") from None
        out += [m for m in picked if m not in out]
    return tuple(out)


def load_plugins(config: Mapping, root: Path) -> tuple[str, ...]:
    """Load ``mapper_plugins`` (paths relative to the project root, or module names) here and, through
    the environment, in every job; the files, absolute."""
    refs = [str((root / r).resolve()) if r.endswith(".py") else r for r in config.get("mapper_plugins", [])]
    try:
        use_plugins(refs)
    except (ValueError, ImportError) as err:
        raise PlanError(f"mapper_plugins: {err}") from None
    return tuple(r for r in refs if r.endswith(".py"))


def methods_plan(config: Mapping, exp1: Experiment1, root: Path) -> Methods:
    spec = config["methods"]
    plugins = load_plugins(config, root)
    pairs = tuple((d, i, t) for d in spec["datasets"] if d in exp1.datasets for i, t in exp1.pairs[d])
    return Methods(pairs, bool(spec["in_all"]), exp1.ks, exp1.table_k, mapping_names(spec["methods"]), plugins)
