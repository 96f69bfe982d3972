"""What the workflow runs, decided from the config and what is at hand: a typed, immutable plan.

The rule files (``workflow/rules/*.smk``) only ask this plan: which Experiment 1 datasets, feature
pairs and settings to train, which Experiment 2 embeddings and benchmarks to score, what fills
Table 12's slots, which feature-map rows can be computed, and which tables and report pages to
build. Nothing here imports Snakemake or torch, so every decision is unit-tested on plain dicts
(``tests/test_plan.py``).

Inputs (:class:`World`): the config after schema validation (defaults filled in), the source
registry (``workflow/sources.yaml``), the registry entries at hand without the upstream network
(installed packages' files and what the mirror holds), and the project root (config paths are
relative to it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crossmodal.datasets.wordsim import BENCHMARKS, PACKAGE_BENCHMARKS, PAPER_BENCHMARKS
from crossmodal.names import (
    CONCEPT_IMAGE_FEATURE,
    CONCEPT_TEXT_FEATURE,
    DIRECTIONS,
    EXP1_DATASETS,
    LOSSES,
    MAPPINGS,
    PAPER_K,
    PAPER_TABLES,
    TABLE12_PAPER_SLOTS,
    WIKIPEDIA_IMAGE_FEATURE,
    WIKIPEDIA_TEXT_VARIABLES,
)
from crossmodal.sources.registry import Source, source_path

# --- Facts (each stated once) -----------------------------------------------------------------

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
BIGRU_SOURCES: dict[str, str] = {
    "texts": "wikipedia_texts",
    "train_list": "wikipedia_trainset_list",
    "test_list": "wikipedia_testset_list",
    "categories": "wikipedia_categories",
}
BIGRU_FILE = "results/features/text/wikipedia/bigru.npz"
VGGM_CONVERTED = "results/features/weights/vgg-m-128.pt"
#: Image encoders, and their weights when the config gives none (a registry entry or a rule's output).
ENCODER_WEIGHTS: dict[str, str] = {
    "resnet152": "torchvision_resnet152_weights",
    "vgg-m-128": VGGM_CONVERTED,
    "efficientnet-lite0": "efficientnet_lite0_weights",
}
ENCODERS: tuple[str, ...] = tuple(ENCODER_WEIGHTS)
#: Experiment 2's visual word vectors are embeddings named VISUAL_PREFIX + source.
VISUAL_PREFIX = "visual-"
CONCEPT_VISUAL = "imagenet1k_concepts"
FEATURE_MAP_WIKIPEDIA: dict[str, str] = {
    "wikipedia_mat": "wikipedia_raw_features",
    "wikipedia_test_list": "wikipedia_testset_list",
    "wikipedia_categories": "wikipedia_categories",
}
#: The authors' released IAPR TC-12 test-split features: (paper's feature name, modality, registry entry).
FEATURE_MAP_IAPR: tuple[tuple[str, str, str], ...] = (
    ("VGG-128", "image", "collell_iaprtc_ts_vis_vgg128"),
    ("ResNet", "image", "collell_iaprtc_ts_vis_resnet"),
    ("biGRU", "text", "collell_iaprtc_ts_lang_bigru"),
)
#: Why a Table 12 slot is empty when nothing at hand fills it.
TABLE12_MISSING: dict[str, str] = {
    "word2vec": (
        "not available offline: word2vec GoogleNews-300d is not installed (no PyPI package), {where}; "
        "add a word_vectors entry (format word2vec-bin, your file) and set experiment2.table12.word2vec to its key"
    ),
    "vgg128": (
        "not available offline: VGG-128 word-level visual vectors need ImageNet images (features.synsets.folder, "
        "with features.synsets.encoder vgg-m-128) and the VGG-M-128 weights (registry imagenet_vgg_m_128_mat); "
        "{where}; once both are configured, auto uses visual-synsets-vgg-m-128"
    ),
}
METRIC_NAMES = {"cosine": "cosine", "euclidean": "Euclidean"}
LOSS_TITLES = {"mse": "MSE", "cosine": "cosine", "max-margin": "max-margin"}
LOSS_PROSE = {"mse": "mean-squared-error", "cosine": "cosine", "max-margin": "max-margin"}


def experiment1_table_title(number: int) -> str:
    """The report title of an Experiment 1 paper table, from its settings (PAPER_TABLES)."""
    spec = PAPER_TABLES[number]
    metric = METRIC_NAMES[spec.metric]
    if spec.word2vec:
        return f"Table {number}: mNNO with word2vec, {metric} neighbours (ImageNet)"
    return f"Table {number}: mNNO, {metric} neighbours, {LOSS_TITLES[spec.loss]} loss, {' / '.join(spec.mappings)}"


def _report_tables() -> dict[str, tuple[str, str]]:
    tables = {"comparison": ("Published values beside ours (Tables 1-12)", "Comparison")}
    for number in range(1, 13):
        title = {2: "Table 2: untrained mappings, Spearman rho (GloVe / visual vectors)",
                 12: "Table 12: untrained mappings, Spearman rho (word2vec / VGG-128)"}.get(number)
        tables[f"table{number}"] = (title or experiment1_table_title(number), "Tables")
    tables["hyperparameters"] = ("Experiment 1: chosen hyper-parameters per setting", "Experiment 1 details")
    tables["training_checks"] = ("Experiment 1: training checks per setting", "Experiment 1 details")
    return tables


#: Tables shown in the report: name -> (page title, report category). Caption: workflow/report/<name>.rst.
REPORT_TABLES: dict[str, tuple[str, str]] = _report_tables()
COMPARISON_CSV = "results/tables/comparison.csv"
HEATMAP_PNG = "results/figures/heatmap.png"
FIGURES: tuple[str, ...] = ("results/figures/figure1.png", "results/figures/figure2.png")


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


def word_vector_spec(config: Mapping, name: str) -> Mapping[str, Any]:
    specs = config["word_vectors"]
    if name not in specs:
        raise PlanError(f"{name!r} is not a key of config word_vectors (have: {sorted(specs)})")
    return specs[name]


def word_vector_inputs(config: Mapping, world: World, name: str) -> list[str]:
    """The files one word-vector set is built from: registry sources or the user's own paths."""
    spec = word_vector_spec(config, name)
    return [source_file(world, s) for s in spec["sources"]] if "sources" in spec else list(spec["paths"])


# --- Experiment 1 --------------------------------------------------------------------------------

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


def files_at_hand(world: World, files: Mapping[str, str]) -> bool:
    return all(Path(f).is_file() if "/" in f else f in world.at_hand for f in files.values())


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


def text_encoder_sources(config: Mapping, dataset: str, text: str) -> list[str]:
    """Registry entries a text encoder's features are built from (the biGRU: Wikipedia texts + vectors)."""
    if dataset == "wikipedia" and text == "bigru":
        embedding = config["features"]["bigru"]["embedding"]
        return list(BIGRU_SOURCES.values()) + list(config["word_vectors"].get(embedding, {}).get("sources", []))
    return []


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
    return Experiment1(datasets, pairs, jobs, iaprtc12_split(config, world),
                       bool(config["experiment1"]["hyperparameter_search"]["enabled"]), names, paired)


# --- Experiment 2 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkColumn:
    key: str
    label: str
    source: str  # the registry entry it is read from


@dataclass(frozen=True)
class Slot:
    """One of Table 12's rows (crossmodal.tables.table12.Slot fields)."""

    slot: str
    paper_label: str
    embedding: str | None
    reason: str


@dataclass(frozen=True)
class Experiment2:
    embeddings: tuple[str, ...]  # Table 2's rows: word vectors, then visual
    benchmarks: tuple[BenchmarkColumn, ...]
    table12: tuple[Slot, ...]
    embedding_names: tuple[str, ...]  # every name an output may have (wildcard constraint)

    def outputs(self, embeddings: Sequence[str] | None = None) -> list[str]:
        return [f"results/experiment2/{e}/{b.key}.csv" for e in (self.embeddings if embeddings is None else embeddings)
                for b in self.benchmarks]

    @property
    def table12_inputs(self) -> list[str]:
        return self.outputs(list(dict.fromkeys(s.embedding for s in self.table12 if s.embedding)))

    def benchmark(self, key: str) -> BenchmarkColumn:
        return next(b for b in self.benchmarks if b.key == key)


def is_visual(embedding: str) -> bool:
    return embedding.startswith(VISUAL_PREFIX)


def experiment2_vectors(config: Mapping, embedding: str) -> dict[str, str]:
    """The KeyedVectors of an embedding; a visual one also gives its label file."""
    if is_visual(embedding):
        stem = f"results/features/visual/{embedding[len(VISUAL_PREFIX):]}"
        return {"vectors": f"{stem}.kv", "info": f"{stem}.json"}
    word_vector_spec(config, embedding)  # an unknown key fails here, naming the config keys
    return {"vectors": f"results/features/words/{embedding}.kv"}


def experiment2_label(config: Mapping, embedding: str) -> str | None:
    """A word-vector set's config label; None for a visual one (read from its label file)."""
    return None if is_visual(embedding) else word_vector_spec(config, embedding)["label"]


def visual_vectors_input(visual: str) -> str:
    if visual == CONCEPT_VISUAL:
        return f"results/experiment1/imagenet1k_concepts/{CONCEPT_IMAGE_FEATURE}/{CONCEPT_TEXT_FEATURE}/dataset.npz"
    return f"results/features/synsets/{visual[len('synsets-'):]}.npz"


def benchmark_source(world: World, key: str) -> str:
    """The registry entry a benchmark is read from: with a mirror, the full release; without one,
    the copy bundled in an installed package when there is one; otherwise the full release."""
    bench = BENCHMARKS[key]
    if world.mirror or bench.package_source is None:
        return bench.mirror_source  # type: ignore[return-value]
    return bench.package_source


def visual_sources_available(config: Mapping) -> list[str]:
    """Visual word-vector sources this config can build: the concept set always, synsets with a folder."""
    synsets = config["features"]["synsets"]
    return [CONCEPT_VISUAL] + ([f"synsets-{synsets['encoder']}"] if synsets["folder"] else [])


def visual_embeddings(config: Mapping) -> list[str]:
    """experiment2.visual as embedding names (auto: every available source)."""
    chosen = config["experiment2"]["visual"]
    if chosen == "auto":
        return [VISUAL_PREFIX + v for v in visual_sources_available(config)]
    synsets = config["features"]["synsets"]
    names = []
    for source in chosen:
        if source == "synsets":
            if not synsets["folder"]:
                raise PlanError("experiment2.visual names synsets, but features.synsets.folder is not set")
            source = f"synsets-{synsets['encoder']}"
        names.append(VISUAL_PREFIX + source)
    return names


def table12_slot(config: Mapping, world: World, slot: str) -> tuple[str | None, str]:
    """(embedding name or None, reason) for one of Table 12's slots."""
    value = config["experiment2"]["table12"][slot]
    if value is None:
        return None, f"not configured (experiment2.table12.{slot} is null)"
    if value != "auto":
        valid = set(config["word_vectors"]) | {VISUAL_PREFIX + v for v in visual_sources_available(config)}
        if value not in valid:
            raise PlanError(f"experiment2.table12.{slot}: {value!r} is neither a word_vectors key nor an available "
                            f"visual embedding (have: {sorted(valid)})")
        return value, ""
    if slot == "word2vec":
        users = [k for k, spec in config["word_vectors"].items() if "word2vec_googlenews" in spec.get("sources", [])]
        in_mirror = "word2vec_googlenews" in world.at_hand
        if users and in_mirror:
            return users[0], ""
        problems = [] if in_mirror else ["it is not in the mirror" if world.mirror else "no mirror_dir or mirror_url is set"]
        if not users:
            problems.append("no word_vectors entry uses registry entry word2vec_googlenews")
        return None, TABLE12_MISSING[slot].format(where=" and ".join(problems))
    synsets = config["features"]["synsets"]
    if synsets["folder"] and synsets["encoder"] == "vgg-m-128":
        return f"{VISUAL_PREFIX}synsets-vgg-m-128", ""
    where = (f"features.synsets uses encoder {synsets['encoder']}, not vgg-m-128" if synsets["folder"]
             else "features.synsets.folder is not set")
    return None, TABLE12_MISSING[slot].format(where=where)


def experiment2(config: Mapping, world: World) -> Experiment2:
    clash = [k for k in config["word_vectors"] if k.startswith(VISUAL_PREFIX)]
    if clash:
        raise PlanError(f"word_vectors keys must not start with {VISUAL_PREFIX!r} (reserved for visual embeddings): {clash}")
    chosen = config["experiment2"]["benchmarks"]
    keys = (PAPER_BENCHMARKS if world.mirror else PACKAGE_BENCHMARKS) if chosen == "auto" else chosen
    benchmarks = tuple(BenchmarkColumn(k, BENCHMARKS[k].label, benchmark_source(world, k)) for k in keys)
    slots = tuple(Slot(slot, label, *table12_slot(config, world, slot)) for slot, label in TABLE12_PAPER_SLOTS)
    names = tuple(config["word_vectors"]) + tuple(VISUAL_PREFIX + v for v in visual_sources_available(config))
    return Experiment2(tuple(config["experiment2"]["embeddings"]) + tuple(visual_embeddings(config)), benchmarks,
                       slots, names)


# --- Features and the feature map ------------------------------------------------------------------


def bigru_label(config: Mapping) -> str:
    """The honest name of our biGRU features (dimension added by the tables)."""
    embedding = config["features"]["bigru"]["embedding"]
    spec = config["word_vectors"].get(embedding)  # a missing name fails only when the biGRU is built
    return f"biGRU (ours, trained on Wikipedia train texts, {spec['label'] if spec else embedding} inputs)"


def image_set_spec(config: Mapping, dataset: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    sets = config["features"]["images"]
    if dataset not in sets:
        raise PlanError(f"{dataset!r} is not a key of config features.images (have: {sorted(sets)})")
    return {**defaults, **sets[dataset]}


def encoder_weights(world: World, encoder: str, weights: str | None) -> str:
    return file_or_source(world, weights or ENCODER_WEIGHTS[encoder])


def image_set_inputs(config: Mapping, world: World, dataset: str, encoder: str) -> dict[str, Any]:
    spec = image_set_spec(config, dataset, image_set_defaults(world.root))
    if spec["encoder"] != encoder:
        raise PlanError(f"features.images.{dataset} uses encoder {spec['encoder']!r}, not {encoder!r}")
    return {"ids": [file_or_source(world, f) for f in spec["ids"]], "weights": encoder_weights(world, spec["encoder"], spec["weights"])}


def synset_inputs(config: Mapping, world: World, encoder: str) -> dict[str, str]:
    spec = config["features"]["synsets"]
    if not spec["folder"]:
        raise PlanError("config features.synsets.folder is not set: name an ImageNet-style folder (<synset>/<images>)")
    if spec["encoder"] != encoder:
        raise PlanError(f"features.synsets uses encoder {spec['encoder']!r}, not {encoder!r}")
    return {"weights": encoder_weights(world, spec["encoder"], spec["weights"]),
            "lemmas": source_file(world, "timm_imagenet_synset_to_lemma")}


def bigru_inputs(config: Mapping, world: World) -> dict[str, str]:
    files = {role: source_file(world, name) for role, name in BIGRU_SOURCES.items()}
    return {**files, "vectors": f"results/features/words/{config['features']['bigru']['embedding']}.kv"}


def features_targets(config: Mapping, image_defaults: Mapping[str, Any]) -> list[str]:
    """Image feature files of the configured datasets and the synset vectors (when a folder is set)."""
    features = config["features"]
    out = [f"results/features/image/{d}/{image_set_spec(config, d, image_defaults)['encoder']}.npz"
           for d in features["images"]]
    if features["synsets"]["folder"]:
        out.append(f"results/features/synsets/{features['synsets']['encoder']}.npz")
    return out


def _missing_sources(world: World, names: Sequence[str]) -> str | None:
    missing = [n for n in names if n not in world.at_hand]
    if not missing:
        return None
    where = f"not in the mirror {world.mirror}" if world.mirror else "no mirror_dir or mirror_url set"
    return "inputs not at hand (" + ", ".join(f"{n}: {world.sources[n].mirror_relpath}" for n in missing) + f"; {where})"


def feature_map_rows(config: Mapping, world: World) -> list[dict[str, Any]]:
    """Rows of results/tables/feature_map.csv; a row whose inputs are not at hand keeps its reason."""
    wiki_missing = _missing_sources(world, list(FEATURE_MAP_WIKIPEDIA.values()))
    bigru = config["features"]["bigru"]
    dim = bigru["hidden"] * (2 if bigru["merge"] == "concat" else 1)
    wiki = dict(dataset="wikipedia", relevance="same category", reader="wikipedia")
    images_reason = "ours would need the raw Wikipedia images (not offline) and {} weights (features.images.wikipedia)"
    rows = [
        dict(wiki, feature="biGRU", features_used=f"{bigru_label(config)}, {dim}-d", modality="text", key="bigru",
             text_file="wikipedia_bigru",
             reason=wiki_missing or _missing_sources(world, text_encoder_sources(config, "wikipedia", "bigru"))),
        dict(wiki, feature="ResNet", features_used="ResNet-152 (ours)", modality="image", reason=images_reason.format("ResNet-152")),
        dict(wiki, feature="VGG-128", features_used="VGG-M-128 (ours)", modality="image", reason=images_reason.format("VGG-M-128")),
        dict(wiki, feature="SIFT-128", features_used="SIFT-128 BoVW (dataset's), 128-d", modality="image", key="sift128",
             reason=wiki_missing),
        dict(wiki, feature="LDA-10", features_used="LDA-10 (dataset's), 10-d", modality="text", key="lda10", reason=wiki_missing),
        dict(wiki, feature="tf-idf-1000", features_used="tf-idf-1000 (dataset's), 1000-d", modality="text", key="tfidf1000",
             reason=wiki_missing),
    ]
    for feature, modality, source in FEATURE_MAP_IAPR:
        rows.append(dict(dataset="iaprtc12", feature=feature, features_used=f"{feature} (authors' released test-split features)",
                         modality=modality, relevance="shares a label id", reader="authors_csv", csv=source,
                         reason=_missing_sources(world, [source])))
    return rows


def feature_map_inputs(world: World, rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    files: dict[str, str] = {}
    for row in rows:
        if row["reason"]:
            continue
        if row["reader"] == "wikipedia":
            files.update({role: source_file(world, name) for role, name in FEATURE_MAP_WIKIPEDIA.items()})
            if row.get("text_file"):
                files[row["text_file"]] = BIGRU_FILE
        else:
            files[row["csv"]] = source_file(world, row["csv"])
    return files


# --- Report --------------------------------------------------------------------------------------


def report_page(name: str) -> str:
    return f"results/report/{name}.html"


def heatmap_k(config: Mapping) -> int:
    """K of the heat-map: the paper's 10 when configured, else the first configured K."""
    ks = config["neighbours"]["k"]
    return PAPER_K if PAPER_K in ks else ks[0]


def report_targets() -> list[str]:
    """What `snakemake --report` needs besides the tables and figures: comparison, heat-map, pages."""
    return [COMPARISON_CSV, HEATMAP_PNG, *[report_page(n) for n in REPORT_TABLES]]


# The paragraphs every Experiment 1 table caption shares (workflow/report/table<N>.rst show them).
DATA_USED = """**Data really used** (row labels name them; ``comparison.csv`` says per cell how each differs
from the paper): the ImageNet-1k concept set (the ImageNet-1k classes whose name GloVe-6B-50d
covers, counted in the row label: EfficientNet-Lite0 class templates and GloVe-6B-50d words,
5-fold CV; an offline stand-in for the paper's ImageNet with ResNet centroids and
GloVe-840B-300d), IAPR TC-12 (the authors' released VGG-128 and biGRU features; only the test
split is offline, so 5-fold CV inside it unless the training split is at hand), Wikipedia
(official 2,173/693 split; the dataset's SIFT-128 bag-of-visual-words image features with our
biGRU, LDA-10 and tf-idf-1000 texts), and the authors' ImageNet / Wikipedia releases when they
are present. Datasets whose files are not at hand are left out."""
SETTINGS = """**Settings**: f trained with RMSprop, batch size 64, at most {epochs}
epochs; learning rate, hidden width, dropout, margin (max-margin) and epochs chosen per setting by
{search_folds}-fold cross-validation on the training rows when ``experiment1.hyperparameter_search``
is enabled (it is: {search}), else the authors' per-dataset settings (``hp_source`` and the values
per row in ``experiment1_long.csv``; the choices in ``hyperparameters.csv``). Means over {n_folds}
folds (cross-validation) or {n_runs} runs with different initialisations (fixed split), seed
{seed}. mNNO^K on test items with K = {k} (the paper: {paper_k}), each point counted among its own
neighbours (the convention of every published mNNO). ``*``: per-item NNO(X, f(X)) and NNO(Y, f(X))
differ (two-sided Wilcoxon rank-sum, Bonferroni over the table, p < {alpha})."""
TABLE_NOTES = {
    3: "In the paper's extracted text three rows of this table carry a doubtful nn-3/nn-5 label (see ``label_note`` in ``comparison.csv``).",
    10: "The paper's word2vec (GoogleNews, 300-d) is not available offline and has no stand-in: rows exist only with the authors' ImageNet release (``imagenet_authors`` with text feature ``word2vec``); otherwise the table says n/a.",
}
TABLE_NOTES[4], TABLE_NOTES[11] = TABLE_NOTES[3], TABLE_NOTES[10]


def _mappings_prose(spec: Any) -> str:
    if spec.word2vec:
        return "lin and nn"
    if spec.mappings == ("lin", "nn"):
        return "linear (lin) and one-hidden-layer (nn) mappings" if spec.number == 1 else "lin and nn mappings"
    return "deeper networks nn-3 and nn-5 (3 and 5 layers)"


def experiment1_caption(config: Mapping, number: int) -> str:
    """The report caption of Experiment 1 paper table ``number`` (reStructuredText)."""
    spec, exp1 = PAPER_TABLES[number], config["experiment1"]
    where = "Table 1" if number == 1 else f"Supplement Table {number}"
    data = "ImageNet with word2vec word vectors, " if spec.word2vec else ""
    head = (f"Experiment 1, our counterpart of the paper's {where}: test mNNO(X, f(X)) and mNNO(Y, f(X))\n"
            f"with {data}{METRIC_NAMES[spec.metric]} neighbours, {LOSS_PROSE[spec.loss]} loss, {_mappings_prose(spec)}. "
            "Column pairs X,f(X) / Y,f(X) per image-feature set; the paper's finding is\n"
            "X,f(X) > Y,f(X) (f(X) keeps the neighbourhood structure of its input).")
    settings_text = SETTINGS.format(
        epochs=exp1["epochs"], search_folds=exp1["hyperparameter_search"]["n_folds"],
        search=exp1["hyperparameter_search"]["enabled"], n_folds=exp1["n_folds"], n_runs=exp1["n_runs"],
        seed=exp1["seed"], k=config["neighbours"]["table_k"], paper_k=PAPER_K, alpha=exp1["alpha"])
    return "\n\n".join([head, DATA_USED, settings_text, *([TABLE_NOTES[number]] if number in TABLE_NOTES else [])])


def experiment1_captions(config: Mapping) -> dict[str, str]:
    return {f"table{n}": experiment1_caption(config, n) for n in PAPER_TABLES}


# --- The field's cross-modal methods (Tables 13 and 14) -----------------------------------------

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

    @property
    def dataset_files(self) -> list[str]:
        return [f"results/methods/{d}/{i}/{t}/{kind}.csv" for d, i, t in self.pairs for kind in METHODS_OUTPUTS]

    @property
    def targets(self) -> list[str]:
        """Tables 13 and 14, the chosen hyper-parameters, the figure and its report page."""
        return [*METHODS_TABLES, METHODS_HYPERPARAMETERS, METHODS_FIGURE, METHODS_PAGE] if self.pairs else []


def methods_plan(config: Mapping, exp1: Experiment1) -> Methods:
    spec = config["methods"]
    pairs = tuple((d, i, t) for d in spec["datasets"] if d in exp1.datasets for i, t in exp1.pairs[d])
    return Methods(pairs, bool(spec["in_all"]))


# --- What each job asks a scheduler for ------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """One kind of job's request. Memory: ``base_mb`` (the interpreter and its libraries; a job
    that imports torch measured 0.9-1.5 GB max RSS in benchmarks/results) plus ``per_input_mb``
    MB per MB of input (the arrays it holds); runtime in minutes. Both double on each retry
    (``--retries``), so a job killed for memory or time asks for more. ``gpu``: the job runs torch
    on the configured device and asks for one GPU when that device is CUDA."""

    base_mb: int
    per_input_mb: float
    runtime: int
    gpu: bool = False

    def mem_mb(self, input_mb: float, attempt: int = 1) -> int:
        return math.ceil((self.base_mb + self.per_input_mb * input_mb) * 2 ** (attempt - 1))

    def runtime_minutes(self, attempt: int = 1) -> int:
        return self.runtime * 2 ** (attempt - 1)

    def gpus(self, device: str) -> int:
        return int(self.gpu and device.startswith("cuda"))


RESOURCES: dict[str, Resources] = {
    "light": Resources(512, 4, 10),  # numpy/pandas/scipy steps: tables, report pages, dataset files
    "torch": Resources(2048, 4, 30),  # imports torch for a short step: splits, neighbours, scores
    "vectors": Resources(2048, 6, 30),  # word vectors held in gensim KeyedVectors
    "training": Resources(2048, 8, 120, gpu=True),  # trains mappings or the biGRU
    "images": Resources(4096, 2, 240, gpu=True),  # a CNN over a folder of images
}


def resources(kind: str, device: str) -> dict[str, Any]:
    """The ``resources:`` of a rule of ``kind``: mem_mb from its inputs' size, runtime, and gpu
    when it asks for one (a scheduler reads gpu; the local executor only counts it)."""
    spec = RESOURCES[kind]
    out: dict[str, Any] = {
        "mem_mb": lambda wildcards, input, attempt: spec.mem_mb(input.size_mb, attempt),
        "runtime": lambda wildcards, attempt: spec.runtime_minutes(attempt),
    }
    if spec.gpus(device):
        out["gpu"] = spec.gpus(device)
    return out


# --- The whole plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    experiment1: Experiment1
    experiment2: Experiment2
    feature_map: tuple[Mapping[str, Any], ...]
    features: tuple[str, ...]  # image feature / synset files the config asks for
    methods: Methods
    tables: tuple[str, ...] = field(default=tuple(f"results/tables/table{n}.csv" for n in range(1, 13)))

    @property
    def default_targets(self) -> list[str]:
        """Every paper table, the feature check, the figures and the report's inputs; Tables 13-14
        and their page when ``methods.in_all``."""
        methods = self.methods.targets if self.methods.in_all else []
        return [*self.tables, "results/tables/feature_map.csv", *self.features, *FIGURES, *report_targets(), *methods]


def check_config_consistency(config: Mapping) -> None:
    neighbours = config["neighbours"]
    if neighbours["table_k"] not in neighbours["k"]:
        raise PlanError(f"neighbours.table_k ({neighbours['table_k']}) must be one of neighbours.k {neighbours['k']}")


SCHEMA = "workflow/schemas/config.schema.yaml"


@cache  # read once per run: build_plan and every image-feature job's input function ask
def image_set_defaults(root: Path) -> dict[str, Any]:
    """An image set's defaults (features.images.<name>): validation fills defaults of named keys
    only, so those of a free-named entry come from its schema."""
    schema = yaml.safe_load((root / SCHEMA).read_text(encoding="utf-8"))
    image_set = schema["properties"]["features"]["properties"]["images"]["additionalProperties"]
    return {k: v["default"] for k, v in image_set["properties"].items() if "default" in v}


def build_plan(config: Mapping, world: World) -> Plan:
    """The plan of a validated config (defaults filled in) on this ``world``."""
    check_config_consistency(config)
    exp1 = experiment1(config, world)
    return Plan(exp1, experiment2(config, world), tuple(feature_map_rows(config, world)),
                tuple(features_targets(config, image_set_defaults(world.root))), methods_plan(config, exp1))
