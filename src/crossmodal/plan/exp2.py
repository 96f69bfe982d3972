"""Experiment 2: which embeddings (word vectors, then visual word vectors) and benchmarks to score,
what fills Table 12's slots, and the settings the Experiment 2 rules pass on to their scripts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crossmodal.datasets.wordsim import BENCHMARKS, PACKAGE_BENCHMARKS, PAPER_BENCHMARKS
from crossmodal.names import CONCEPT_IMAGE_FEATURE, CONCEPT_TEXT_FEATURE, TABLE12_PAPER_SLOTS
from crossmodal.plan.world import PlanError, World, word_vector_spec

#: Experiment 2's visual word vectors are embeddings named VISUAL_PREFIX + source.
VISUAL_PREFIX = "visual-"
CONCEPT_VISUAL = "imagenet1k_concepts"
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
    # What the rules pass on to their scripts (config experiment2):
    n_seeds: int  # random draws of each untrained mapping
    output_dim: int
    hidden_dim: int  # f_nn's hidden width
    min_pairs: int  # fewer covered benchmark pairs: n/a
    alpha: float

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
    exp2 = config["experiment2"]
    return Experiment2(tuple(exp2["embeddings"]) + tuple(visual_embeddings(config)), benchmarks, slots, names,
                       n_seeds=exp2["n_seeds"], output_dim=exp2["output_dim"], hidden_dim=exp2["nn_hidden_dim"],
                       min_pairs=exp2["min_pairs"], alpha=exp2["alpha"])
