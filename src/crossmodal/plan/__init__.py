"""What the workflow runs, decided from the config and what is at hand: a typed, immutable plan.

The rule files (``workflow/rules/*.smk``) only ask this plan: which Experiment 1 datasets, feature
pairs and settings to train, which Experiment 2 embeddings and benchmarks to score, what fills
Table 12's slots, which feature-map rows can be computed, which tables and report pages to
build, and the settings each rule passes on to its script. Nothing here imports Snakemake or
torch, so every decision is unit-tested on plain dicts (``tests/test_plan.py``). Report titles
and captions are text, kept in ``workflow/report/`` (``crossmodal.report.captions``).

Inputs (:class:`World`): the config after schema validation (defaults filled in), the source
registry (``workflow/sources.yaml``), the registry entries at hand without the upstream network
(installed packages' files and what the mirror holds), and the project root (config paths are
relative to it).

One module per part, each importing only those before it:

* ``world``: :class:`World`, :class:`PlanError` and the lookups every part shares;
* ``features``: word vectors' and encoders' inputs, the biGRU, image features, the feature map;
* ``exp1``: Experiment 1 (datasets, pairs, settings, jobs and their files);
* ``exp2``: Experiment 2 (embeddings, benchmarks, Table 12's slots);
* ``methods``: the field's cross-modal methods (Tables 13 and 14);
* ``resources``: what each kind of job asks a scheduler for;
* ``report``: the report's table pages, comparison, heat-map and figures;

and this one, the whole :class:`Plan`. The rules use every name through ``crossmodal.plan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crossmodal.plan.exp1 import (
    AUTHORS_RELEASE,
    CONCEPT_SOURCES,
    EXP1_WILDCARDS,
    WIKIPEDIA_SOURCES,
    Experiment1,
    Job,
    authors_files,
    chosen_file,
    dataset_enabled,
    dataset_inputs,
    dataset_pairs,
    dataset_params,
    dataset_raw_inputs,
    experiment1,
    group_jobs,
    iaprtc12_split,
    job_dir,
    neighbour_source,
    neighbours_file,
    paired_datasets,
    paired_spec,
    setting_files,
    settings,
    source_pairs,
    splits_file,
    splits_source,
)
from crossmodal.plan.exp2 import (
    CONCEPT_VISUAL,
    TABLE12_MISSING,
    VISUAL_PREFIX,
    BenchmarkColumn,
    Experiment2,
    Slot,
    benchmark_source,
    experiment2,
    experiment2_label,
    experiment2_vectors,
    is_visual,
    table12_slot,
    visual_embeddings,
    visual_sources_available,
    visual_vectors_input,
)
from crossmodal.plan.features import (
    BIGRU_FILE,
    BIGRU_SOURCES,
    ENCODER_WEIGHTS,
    ENCODERS,
    FEATURE_MAP_IAPR,
    FEATURE_MAP_WIKIPEDIA,
    SCHEMA,
    VGGM_CONVERTED,
    Features,
    bigru_inputs,
    bigru_label,
    encoder_weights,
    feature_map_inputs,
    feature_map_rows,
    features_plan,
    features_targets,
    image_set_defaults,
    image_set_inputs,
    image_set_spec,
    synset_inputs,
    text_encoder_sources,
)
from crossmodal.plan.methods import (
    METHODS_FIGURE,
    METHODS_HYPERPARAMETERS,
    METHODS_OUTPUTS,
    METHODS_PAGE,
    METHODS_POINTS,
    METHODS_TABLES,
    Methods,
    methods_plan,
)
from crossmodal.plan.report import COMPARISON_CSV, FIGURES, HEATMAP_PNG, REPORT_TABLES, report_page, report_targets
from crossmodal.plan.resources import RESOURCES, Resources, resources
from crossmodal.plan.world import (
    PlanError,
    World,
    alternation,
    file_or_source,
    files_at_hand,
    source_file,
    word_vector_inputs,
    word_vector_spec,
)


@dataclass(frozen=True)
class Plan:
    experiment1: Experiment1
    experiment2: Experiment2
    feature_map: tuple[Mapping[str, Any], ...]
    features: Features
    methods: Methods
    device: str  # where torch steps run (config device)
    tables: tuple[str, ...] = field(default=tuple(f"results/tables/table{n}.csv" for n in range(1, 13)))

    @property
    def default_targets(self) -> list[str]:
        """Every paper table, the feature check, the figures and the report's inputs; Tables 13-14
        and their page when ``methods.in_all``."""
        methods = self.methods.targets if self.methods.in_all else []
        return [*self.tables, "results/tables/feature_map.csv", *self.features.targets, *FIGURES, *report_targets(),
                *methods]


def check_config_consistency(config: Mapping) -> None:
    neighbours = config["neighbours"]
    if neighbours["table_k"] not in neighbours["k"]:
        raise PlanError(f"neighbours.table_k ({neighbours['table_k']}) must be one of neighbours.k {neighbours['k']}")


def build_plan(config: Mapping, world: World) -> Plan:
    """The plan of a validated config (defaults filled in) on this ``world``."""
    check_config_consistency(config)
    exp1 = experiment1(config, world)
    return Plan(exp1, experiment2(config, world), tuple(feature_map_rows(config, world)), features_plan(config, world),
                methods_plan(config, exp1, world.root), config["device"])


__all__ = [
    "AUTHORS_RELEASE", "BIGRU_FILE", "BIGRU_SOURCES", "COMPARISON_CSV", "CONCEPT_SOURCES", "CONCEPT_VISUAL",
    "ENCODERS", "ENCODER_WEIGHTS", "EXP1_WILDCARDS", "FEATURE_MAP_IAPR", "FEATURE_MAP_WIKIPEDIA",
    "FIGURES", "HEATMAP_PNG", "METHODS_FIGURE", "METHODS_HYPERPARAMETERS", "METHODS_OUTPUTS", "METHODS_PAGE",
    "METHODS_POINTS", "METHODS_TABLES", "REPORT_TABLES", "RESOURCES", "SCHEMA", "TABLE12_MISSING", "VGGM_CONVERTED",
    "VISUAL_PREFIX", "WIKIPEDIA_SOURCES",
    "BenchmarkColumn", "Experiment1", "Experiment2", "Features", "Job", "Methods", "Plan", "PlanError", "Resources",
    "Slot", "World",
    "alternation", "authors_files", "benchmark_source", "bigru_inputs", "bigru_label", "build_plan",
    "check_config_consistency", "chosen_file", "dataset_enabled", "dataset_inputs", "dataset_pairs", "dataset_params",
    "dataset_raw_inputs", "encoder_weights", "experiment1", "experiment2", "experiment2_label", "experiment2_vectors",
    "feature_map_inputs", "feature_map_rows", "features_plan", "features_targets", "file_or_source", "files_at_hand",
    "group_jobs", "iaprtc12_split", "image_set_defaults", "image_set_inputs", "image_set_spec", "is_visual", "job_dir",
    "methods_plan", "neighbour_source", "neighbours_file", "paired_datasets", "paired_spec", "report_page",
    "report_targets", "resources", "setting_files", "settings", "source_file", "source_pairs", "splits_file",
    "splits_source", "synset_inputs", "table12_slot", "text_encoder_sources", "visual_embeddings",
    "visual_sources_available", "visual_vectors_input", "word_vector_inputs", "word_vector_spec",
]
