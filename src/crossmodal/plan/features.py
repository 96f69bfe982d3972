"""Features: word vectors' and encoders' inputs, the Wikipedia biGRU, CNN image features of
configured image sets and synset folders, and the feature map (which feature sets can be checked)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crossmodal.plan.world import PlanError, World, file_or_source, source_file

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
SCHEMA = "workflow/schemas/config.schema.yaml"


@dataclass(frozen=True)
class Features:
    """The feature files the config asks for, and the settings the feature rules pass on."""

    targets: tuple[str, ...]  # image feature / synset files
    bigru_settings: Mapping[str, Any]  # features.bigru without its embedding (an input)
    bigru_label: str
    synsets: Mapping[str, Any]  # features.synsets


@cache  # read once per run: build_plan and every image-feature job's input function ask
def image_set_defaults(root: Path) -> dict[str, Any]:
    """An image set's defaults (features.images.<name>): validation fills defaults of named keys
    only, so those of a free-named entry come from its schema."""
    schema = yaml.safe_load((root / SCHEMA).read_text(encoding="utf-8"))
    image_set = schema["properties"]["features"]["properties"]["images"]["additionalProperties"]
    return {k: v["default"] for k, v in image_set["properties"].items() if "default" in v}


def bigru_label(config: Mapping) -> str:
    """The honest name of our biGRU features (dimension added by the tables)."""
    embedding = config["features"]["bigru"]["embedding"]
    spec = config["word_vectors"].get(embedding)  # a missing name fails only when the biGRU is built
    return f"biGRU (ours, trained on Wikipedia train texts, {spec['label'] if spec else embedding} inputs)"


def text_encoder_sources(config: Mapping, dataset: str, text: str) -> list[str]:
    """Registry entries a text encoder's features are built from (the biGRU: Wikipedia texts + vectors)."""
    if dataset == "wikipedia" and text == "bigru":
        embedding = config["features"]["bigru"]["embedding"]
        return list(BIGRU_SOURCES.values()) + list(config["word_vectors"].get(embedding, {}).get("sources", []))
    return []


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


def features_plan(config: Mapping, world: World) -> Features:
    features = config["features"]
    return Features(tuple(features_targets(config, image_set_defaults(world.root))),
                    {k: v for k, v in features["bigru"].items() if k != "embedding"}, bigru_label(config),
                    features["synsets"])


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
