"""Experiment 1: which datasets are enabled, their feature pairs, every (mapping, loss) setting to
train, the files of each job, and the settings the Experiment 1 rules pass on to their scripts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossmodal.names import (
    CONCEPT_IMAGE_FEATURE,
    CONCEPT_TEXT_FEATURE,
    DIRECTIONS,
    EXP1_DATASETS,
    LOSSES,
    MAPPINGS,
    PAPER_K,
    PAPER_TABLES,
    WIKIPEDIA_IMAGE_FEATURE,
    WIKIPEDIA_TEXT_VARIABLES,
)
from crossmodal.plan.features import text_encoder_sources
from crossmodal.plan.world import PlanError, World, alternation, file_or_source, files_at_hand

#: Datasets read from the authors' released CSVs -> their folder name in the release.
AUTHORS_RELEASE: dict[str, str] = {"imagenet_authors": "imagenet", "iaprtc12": "iaprtc", "wiki_authors": "wiki"}
CONCEPT_SOURCES: dict[str, str] = {
    "weights": "efficientnet_lite0_weights",
    "synsets": "timm_imagenet_synsets",
    "lemmas": "timm_imagenet_synset_to_lemma",
    "glove_emb": "glove_6b_50d_emb",
    "glove_index": "glove_6b_50d_index",
}
WIKIPEDIA_SOURCES: dict[str, str] = {
    "mat": "wikipedia_raw_features",
    "train_list": "wikipedia_trainset_list",
    "test_list": "wikipedia_testset_list",
    "categories": "wikipedia_categories",
}

#: Wildcard constraints of the Experiment 1 rules (the dataset's: Experiment1.wildcards).
EXP1_WILDCARDS: dict[str, str] = {
    "direction": alternation(DIRECTIONS),
    "mapping": alternation(MAPPINGS),
    "loss": alternation(LOSSES),
    "modality": "image|text",
    "image": "[A-Za-z0-9_-]+",
    "text": "[A-Za-z0-9_-]+",
    "feature": "[A-Za-z0-9_-]+",
}


@dataclass(frozen=True)
class Job:
    """One trained Experiment 1 setting."""

    dataset: str
    image: str
    text: str
    direction: str
    mapping: str
    loss: str

    @property
    def key(self) -> str:
        return "/".join((self.dataset, self.image, self.text, self.direction, self.mapping, self.loss))


@dataclass(frozen=True)
class Experiment1:
    """The enabled datasets in table order, their feature pairs, and every setting to train."""

    datasets: tuple[str, ...]  # enabled, in table order
    pairs: Mapping[str, tuple[tuple[str, str], ...]]
    jobs: tuple[Job, ...]
    iaprtc12_split: str  # official | test_cv
    search: bool
    names: tuple[str, ...]  # every configured dataset, in table order: the paper's, then your paired ones
    paired: tuple[str, ...]  # your paired datasets (kind: paired)
    # What the rules pass on to their scripts (config experiment1 and neighbours):
    settings: tuple[tuple[str, str], ...]  # (mapping, loss) pairs to train, in config order (see settings())
    directions: tuple[str, ...]
    mappings: tuple[str, ...]  # configured, in table order
    ks: tuple[int, ...]  # neighbours.k: every K scored
    table_k: int  # neighbours.table_k: the K of the paper-layout tables
    n_folds: int  # cross-validated datasets
    n_runs: int  # fixed-split datasets
    seed: int
    epochs: int  # the most epochs (the search may choose fewer)
    margin: float  # max-margin loss without the search
    alpha: float  # significance level of the tables' rank-sum tests
    multiword: str  # how the concept set treats multi-word class names
    overrides: Mapping[str, Any]  # experiment1.hyperparameters and epochs: over the authors' values
    search_grid: Mapping[str, Any]
    search_criterion: Mapping[str, str]
    search_folds: int

    @property
    def k_max(self) -> int:
        """The most neighbours any score needs (cached once per feature)."""
        return max(self.ks)

    @property
    def heatmap_k(self) -> int:
        """K of the heat-map: the paper's 10 when configured, else the first configured K."""
        return PAPER_K if PAPER_K in self.ks else self.ks[0]

    @property
    def wildcards(self) -> dict[str, str]:
        return {"dataset": alternation(self.names), **EXP1_WILDCARDS}

    def dataset_file(self, dataset: str, image: str, text: str) -> str:
        return f"results/experiment1/{dataset}/{image}/{text}/dataset.npz"

    @property
    def groups(self) -> list[tuple[str, str, str, str]]:
        """(dataset, image, text, direction) of every training/scoring job, in job order."""
        return list(dict.fromkeys((j.dataset, j.image, j.text, j.direction) for j in self.jobs))

    @property
    def scores(self) -> list[str]:
        return [f"results/scores/{job.key}/summary.csv" for job in self.jobs]

    @property
    def chosen(self) -> list[str]:
        return [chosen_file(job) for job in self.jobs] if self.search else []

    @property
    def checks(self) -> list[str]:
        return [f"{job_dir(job)}/checks.csv" for job in self.jobs]

    @property
    def figure2_curves(self) -> list[str]:
        """Figure 2's per-dataset learning curves: the first feature pair of each enabled set."""
        return [f"results/figures/figure2/{d}/{'/'.join(self.pairs[d][0])}.csv" for d in self.datasets]


def authors_files(config: Mapping, world: World, dataset: str, image: str, text: str, split: str | None) -> dict[str, str]:
    """{role: registry entry or local file} of one authors' release file pair (split None, TR or TS).

    With the dataset's ``folder``, the release's own layout there; otherwise the registry entries
    collell_<release>_[<split>_]<vis|lang>_<emb>.
    """
    folder = config["experiment1"]["datasets"][dataset].get("folder")
    files = {}
    for modality, emb in (("vis", image), ("lang", text)):
        filename = f"{modality}_{emb}.csv" if split is None else f"{split}_{modality}_{emb}.csv"
        if folder:
            files[modality] = str(world.local(folder) / filename)
        else:
            parts = [AUTHORS_RELEASE[dataset]] + ([split.lower()] if split else []) + [modality, emb.lower()]
            files[modality] = "collell_" + "_".join(parts)
    return files


def iaprtc12_split(config: Mapping, world: World) -> str:
    """official or test_cv (auto: official when every TR file is at hand)."""
    spec = config["experiment1"]["datasets"]["iaprtc12"]
    if spec["split"] != "auto":
        return spec["split"]
    tr = [authors_files(config, world, "iaprtc12", i, t, "TR") for i in spec["image_features"] for t in spec["text_features"]]
    return "official" if all(files_at_hand(world, f) for f in tr) else "test_cv"


def paired_datasets(config: Mapping) -> tuple[str, ...]:
    """Your own datasets (kind: paired), in config order."""
    return tuple(n for n, spec in config["experiment1"]["datasets"].items() if spec.get("kind") == "paired")


def paired_spec(config: Mapping, dataset: str) -> dict[str, Any]:
    """A paired dataset's config, checked beyond what the schema can say."""
    spec = dict(config["experiment1"]["datasets"][dataset])
    if spec["split"] == "fixed" and not spec["n_train"]:
        raise PlanError(f"experiment1.datasets.{dataset}: split fixed needs n_train (the first n_train rows train)")
    if spec["x_feature"] == spec["y_feature"]:
        raise PlanError(f"experiment1.datasets.{dataset}: x_feature and y_feature must differ (both {spec['x_feature']!r})")
    return spec


def dataset_pairs(config: Mapping, dataset: str) -> tuple[tuple[str, str], ...]:
    """The (image feature, text feature) pairs of a dataset, in config order."""
    spec = config["experiment1"]["datasets"][dataset]
    if spec.get("kind") == "paired":
        return ((spec["x_feature"], spec["y_feature"]),)
    if dataset == "imagenet1k_concepts":
        return ((CONCEPT_IMAGE_FEATURE, CONCEPT_TEXT_FEATURE),)
    if dataset == "wikipedia":
        return tuple((WIKIPEDIA_IMAGE_FEATURE, t) for t in spec["text_features"])
    return tuple((i, t) for i in spec["image_features"] for t in spec["text_features"])


def dataset_raw_inputs(config: Mapping, world: World, dataset: str, image: str, text: str) -> dict[str, str]:
    """{role: registry entry name, or a local file path} the dataset rule reads for one pair."""
    spec = config["experiment1"]["datasets"][dataset]
    if spec.get("kind") == "paired":  # FILE:NAME selects inside the file; the rule reads FILE
        return {side: str(world.local(re.sub(r":[^:/]+$", "", spec[side]))) for side in ("x", "y")}
    if dataset == "imagenet1k_concepts":
        return dict(CONCEPT_SOURCES)
    if dataset == "wikipedia":
        return dict(WIKIPEDIA_SOURCES)
    if dataset == "imagenet_authors":
        return authors_files(config, world, dataset, image, text, None)
    if dataset == "iaprtc12" and iaprtc12_split(config, world) == "test_cv":
        return authors_files(config, world, dataset, image, text, "TS")
    return {
        f"{role}_{split.lower()}": f
        for split in ("TR", "TS")
        for role, f in authors_files(config, world, dataset, image, text, split).items()
    }


def dataset_inputs(config: Mapping, world: World, dataset: str, image: str, text: str) -> dict[str, str]:
    """{role: path} of one pair's inputs (registry entries through fetch_source)."""
    raw = dataset_raw_inputs(config, world, dataset, image, text)
    paths = {role: file_or_source(world, f) for role, f in raw.items()}
    if dataset == "wikipedia" and text not in WIKIPEDIA_TEXT_VARIABLES:
        # A text encoder's features: a file with train/test matrices in list order.
        paths["text_file"] = f"results/features/text/wikipedia/{text}.npz"
    return paths


def dataset_params(config: Mapping, world: World, dataset: str) -> dict[str, Any]:
    """What a dataset's file depends on besides its inputs (so a change reruns it)."""
    if dataset == "imagenet1k_concepts":
        return {"multiword": config["experiment1"]["datasets"]["imagenet1k_concepts"]["multiword"]}
    if dataset == "iaprtc12":
        return {"split": iaprtc12_split(config, world)}
    if dataset in paired_datasets(config):
        return paired_spec(config, dataset)
    return {}


def dataset_enabled(config: Mapping, world: World, dataset: str) -> bool:
    enabled = config["experiment1"]["datasets"][dataset]["enabled"]
    if enabled != "auto":
        return bool(enabled)
    return all(
        files_at_hand(world, dataset_raw_inputs(config, world, dataset, i, t))
        and all(s in world.at_hand for s in text_encoder_sources(config, dataset, t))
        for i, t in dataset_pairs(config, dataset)
    )


def settings(config: Mapping) -> list[tuple[str, str]]:
    """(mapping, loss) pairs to train, in config order. "paper": the pairs the paper's tables print
    (PAPER_TABLES: Tables 1/9 lin+nn mse, 3/4 nn-3+nn-5 mse, 5/6 max-margin, 7/8 cosine loss)."""
    exp1 = config["experiment1"]
    pairs = [(m, loss) for m in exp1["mappings"] for loss in exp1["losses"]]
    if exp1["settings"] == "paper":
        printed = {(m, spec.loss) for spec in PAPER_TABLES.values() for m in spec.mappings}
        pairs = [pair for pair in pairs if pair in printed]
    return pairs


def setting_files(config: Mapping, pattern: str) -> list[str]:
    """``pattern`` once per (mapping, loss) setting, in :func:`settings` order, its other wildcards
    left for Snakemake: the outputs of one training or scoring job, which handles every setting of
    a dataset, feature pair and direction (one process start instead of one per setting)."""
    return [pattern.replace("{mapping}", m).replace("{loss}", loss) for m, loss in settings(config)]


def group_jobs(config: Mapping, dataset: str, image: str, text: str, direction: str) -> list[Job]:
    """The settings one training or scoring job handles, in :func:`settings` order."""
    return [Job(dataset, image, text, direction, m, loss) for m, loss in settings(config)]


def source_pairs(config: Mapping, dataset: str) -> list[tuple[str, str]]:
    """A dataset's pairs with those whose text comes from an encoder (the biGRU) last, so that
    retraining it touches neither the splits nor the neighbours of the dataset's own features.
    Every pair of a dataset has the same rows (checked by their keys' digest where read)."""
    return sorted(dataset_pairs(config, dataset), key=lambda pair: bool(text_encoder_sources(config, dataset, pair[1])))


def neighbour_source(config: Mapping, dataset: str, modality: str, feature: str) -> str:
    """The dataset file whose rows give a feature's neighbours: the first source pair holding it."""
    for image, text in source_pairs(config, dataset):
        if (modality, feature) in (("image", image), ("text", text)):
            return f"results/experiment1/{dataset}/{image}/{text}/dataset.npz"
    raise PlanError(f"{dataset} has no {modality} feature {feature!r}")


def splits_source(config: Mapping, dataset: str) -> str:
    """The dataset file the folds/runs of ``dataset`` are drawn from: its first source pair."""
    image, text = source_pairs(config, dataset)[0]
    return f"results/experiment1/{dataset}/{image}/{text}/dataset.npz"


def splits_file(dataset: str) -> str:
    """The folds (cv) or runs (split) of one dataset, read by every step that trains or scores on it."""
    return f"results/experiment1/{dataset}/splits.npz"


def job_dir(job: Any) -> str:
    """The folder of one setting's search, training and checks (``job``: a Job or wildcards)."""
    return f"results/experiment1/{job.dataset}/{job.image}/{job.text}/{job.direction}/{job.mapping}/{job.loss}"


def chosen_file(job: Any) -> str:
    """The hyper-parameters the search chose for one setting."""
    return f"{job_dir(job)}/cv/chosen.json"


def neighbours_file(dataset: str, image: str, text: str, direction: str, side: str) -> str:
    """Cached neighbours of X (side "x") or Y ("y") for a training/scoring job."""
    image_side = (direction == "i2t") == (side == "x")
    modality, feature = ("image", image) if image_side else ("text", text)
    return f"results/neighbours/{dataset}/{modality}/{feature}.npz"


def experiment1(config: Mapping, world: World) -> Experiment1:
    paired = paired_datasets(config)
    names = EXP1_DATASETS + paired
    datasets = tuple(d for d in names if dataset_enabled(config, world, d))
    for d in paired:
        paired_spec(config, d)  # a fixed split without n_train stops here, naming the key
    pairs = {d: dataset_pairs(config, d) for d in datasets}
    jobs = tuple(
        Job(d, image, text, direction, mapping, loss)
        for d in datasets
        for image, text in pairs[d]
        for direction in config["experiment1"]["directions"]
        for mapping, loss in settings(config)
    )
    exp1, neighbours, search = config["experiment1"], config["neighbours"], config["experiment1"]["hyperparameter_search"]
    return Experiment1(
        datasets, pairs, jobs, iaprtc12_split(config, world), bool(search["enabled"]), names, paired,
        settings=tuple(settings(config)), directions=tuple(exp1["directions"]), mappings=tuple(exp1["mappings"]),
        ks=tuple(neighbours["k"]), table_k=neighbours["table_k"], n_folds=exp1["n_folds"], n_runs=exp1["n_runs"],
        seed=exp1["seed"], epochs=exp1["epochs"], margin=exp1["margin"], alpha=exp1["alpha"],
        multiword=exp1["datasets"]["imagenet1k_concepts"]["multiword"],
        overrides={**exp1["hyperparameters"], "epochs": exp1["epochs"]},
        search_grid=search["grid"], search_criterion=search["criterion"], search_folds=search["n_folds"],
    )


