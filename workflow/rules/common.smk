# Helpers shared by the rules: source lookup, target lists from config. No rules here.
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from crossmodal.datasets.wordsim import BENCHMARKS, PACKAGE_BENCHMARKS, PAPER_BENCHMARKS
from crossmodal.names import (
    CONCEPT_IMAGE_FEATURE,
    CONCEPT_TEXT_FEATURE,
    TABLE12_PAPER_SLOTS,
    WIKIPEDIA_IMAGE_FEATURE,
    WIKIPEDIA_TEXT_VARIABLES as WIKIPEDIA_OWN_TEXT,
)
from crossmodal.sources import load_registry, source_path
import yaml

SOURCES = load_registry(Path(workflow.basedir) / "workflow" / "sources.yaml")
MIRROR_DIR = config.get("mirror_dir")


def alternation(values):
    """A regex matching exactly the given names (longest first), to constrain a wildcard."""
    return "|".join(sorted({re.escape(str(v)) for v in values}, key=len, reverse=True))


def source_file(name):
    """Where the fetch_source rule puts registry entry ``name``."""
    if name not in SOURCES:
        raise WorkflowError(f"config names source {name!r}, which workflow/sources.yaml does not declare")
    return source_path(SOURCES, name)


def word_vector_spec(name):
    specs = config["word_vectors"]
    if name not in specs:
        raise WorkflowError(f"{name!r} is not a key of config word_vectors (have: {sorted(specs)})")
    return specs[name]


def word_vector_inputs(wildcards):
    """The files one word-vector set is built from: registry sources or the user's own paths."""
    spec = word_vector_spec(wildcards.embedding)
    if "sources" in spec:
        return [source_file(s) for s in spec["sources"]]
    return spec["paths"]


def experiment2_benchmarks():
    chosen = config["experiment2"]["benchmarks"]
    if chosen == "auto":
        return list(PAPER_BENCHMARKS if MIRROR_DIR else PACKAGE_BENCHMARKS)
    return list(chosen)


def benchmark_source(key):
    """The registry entry a benchmark is read from.

    With a mirror, the full release; without one, the copy bundled in an installed package
    when there is one; otherwise the full release from the network.
    """
    bench = BENCHMARKS[key]
    if MIRROR_DIR or bench.package_source is None:
        return bench.mirror_source
    return bench.package_source


def experiment2_outputs():
    """Table 2's rho files: word vectors and visual embeddings (experiment2_embeddings, experiment2.smk)."""
    return expand(
        "results/experiment2/{embedding}/{benchmark}.csv",
        embedding=experiment2_embeddings(),
        benchmark=experiment2_benchmarks(),
    )


# --- Experiment 1 ---------------------------------------------------------------------------------

EXP1 = config["experiment1"]
# Table order (the paper's: ImageNet, IAPR TC-12, Wikipedia).
EXP1_DATASETS = ("imagenet1k_concepts", "imagenet_authors", "iaprtc12", "wikipedia", "wiki_authors")
# Datasets read from the authors' released CSVs -> their folder name in the release.
AUTHORS_RELEASE = {"imagenet_authors": "imagenet", "iaprtc12": "iaprtc", "wiki_authors": "wiki"}
CONCEPT_SOURCES = {
    "weights": "efficientnet_lite0_weights",
    "synsets": "timm_imagenet_synsets",
    "lemmas": "timm_imagenet_synset_to_lemma",
    "glove_emb": "glove_6b_50d_emb",
    "glove_index": "glove_6b_50d_index",
}
# Wildcard constraints of the Experiment 1 rules (per rule, so other topics keep their own).
EXP1_WILDCARDS = {
    "dataset": alternation(EXP1_DATASETS),
    "direction": "i2t|t2i",
    "mapping": "lin|nn-3|nn-5|nn",
    "loss": "mse|cosine|max-margin",
    "modality": "image|text",
    "image": "[A-Za-z0-9_-]+",
    "text": "[A-Za-z0-9_-]+",
    "feature": "[A-Za-z0-9_-]+",
}
WIKIPEDIA_SOURCES = {
    "mat": "wikipedia_raw_features",
    "train_list": "wikipedia_trainset_list",
    "test_list": "wikipedia_testset_list",
    "categories": "wikipedia_categories",
}


def project_path(path):
    """A config path; relative ones are relative to the project root (like mirror_dir)."""
    return Path(workflow.basedir) / path


def at_hand(name):
    """Whether a registry entry can be provided without the network: an installed package's
    file, or a file present in the mirror folder."""
    if name not in SOURCES:
        return False
    if SOURCES[name].kind == "package":
        return True
    return bool(MIRROR_DIR) and (project_path(MIRROR_DIR) / SOURCES[name].mirror_relpath).is_file()


def authors_files(dataset, image, text, split):
    """{role: registry entry name or local file} of one authors' release file pair.

    split None (imagenet), "TR" or "TS". With the dataset's `folder`, the release's own layout
    in that folder; otherwise the registry entries collell_<release>_[<split>_]<vis|lang>_<emb>.
    """
    release = AUTHORS_RELEASE[dataset]
    folder = EXP1["datasets"][dataset].get("folder")
    files = {}
    for role, modality, emb in (("vis", "vis", image), ("lang", "lang", text)):
        filename = f"{modality}_{emb}.csv" if split is None else f"{split}_{modality}_{emb}.csv"
        if folder:
            files[role] = str(project_path(folder) / filename)
        else:
            parts = [release] + ([split.lower()] if split else []) + [modality, emb.lower()]
            files[role] = "collell_" + "_".join(parts)
    return files


def files_at_hand(files):
    return all(Path(f).is_file() if "/" in f else at_hand(f) for f in files.values())


def iaprtc12_split():
    """official or test_cv (auto: official when every TR file is at hand)."""
    spec = EXP1["datasets"]["iaprtc12"]
    if spec["split"] != "auto":
        return spec["split"]
    tr = [authors_files("iaprtc12", i, t, "TR") for i in spec["image_features"] for t in spec["text_features"]]
    return "official" if all(files_at_hand(f) for f in tr) else "test_cv"


def experiment1_pairs(dataset):
    """The (image feature, text feature) pairs of a dataset, in config order."""
    spec = EXP1["datasets"][dataset]
    if dataset == "imagenet1k_concepts":
        return [(CONCEPT_IMAGE_FEATURE, CONCEPT_TEXT_FEATURE)]
    if dataset == "wikipedia":
        return [(WIKIPEDIA_IMAGE_FEATURE, t) for t in spec["text_features"]]
    return [(i, t) for i in spec["image_features"] for t in spec["text_features"]]


def experiment1_raw_inputs(dataset, image, text):
    """{role: registry entry name, or a local file path} the dataset rule reads for one pair."""
    if dataset == "imagenet1k_concepts":
        return dict(CONCEPT_SOURCES)
    if dataset == "wikipedia":
        return dict(WIKIPEDIA_SOURCES)
    if dataset == "imagenet_authors":
        return authors_files(dataset, image, text, None)
    if dataset == "iaprtc12" and iaprtc12_split() == "test_cv":
        return authors_files(dataset, image, text, "TS")
    return {f"{r}_{s.lower()}": f for s in ("TR", "TS") for r, f in authors_files(dataset, image, text, s).items()}


def experiment1_file_inputs(dataset, image, text):
    """{role: path} of one pair's inputs (registry entries through fetch_source)."""
    paths = {role: f if "/" in f else source_file(f) for role, f in experiment1_raw_inputs(dataset, image, text).items()}
    if dataset == "wikipedia" and text not in WIKIPEDIA_OWN_TEXT:
        # Hook for text encoders (features issue): a file with train/test matrices in list order.
        paths["text_file"] = f"results/features/text/wikipedia/{text}.npz"
    return paths


def experiment1_enabled(dataset):
    enabled = EXP1["datasets"][dataset]["enabled"]
    if enabled != "auto":
        return bool(enabled)
    return all(
        files_at_hand(experiment1_raw_inputs(dataset, i, t)) and all(at_hand(s) for s in text_encoder_sources(dataset, t))
        for i, t in experiment1_pairs(dataset)
    )


def experiment1_datasets():
    return [d for d in EXP1_DATASETS if experiment1_enabled(d)]


def experiment1_dataset_file(dataset, image, text):
    return f"results/experiment1/{dataset}/{image}/{text}/dataset.npz"


def experiment1_dataset_inputs(wildcards):
    return experiment1_file_inputs(wildcards.dataset, wildcards.image, wildcards.text)


def experiment1_dataset_params(wildcards):
    """What a dataset's file depends on besides its inputs (so a change reruns it)."""
    if wildcards.dataset == "imagenet1k_concepts":
        return {"multiword": EXP1["datasets"]["imagenet1k_concepts"]["multiword"]}
    if wildcards.dataset == "iaprtc12":
        return {"split": iaprtc12_split()}
    return {}


def experiment1_neighbour_source(wildcards):
    """The first configured pair holding the feature; every pair of a dataset has the same rows.

    Pairs whose text comes from an encoder (the biGRU) come last, so retraining it does not touch
    the neighbours of the dataset's own image features."""
    pairs = experiment1_pairs(wildcards.dataset)
    pairs = sorted(pairs, key=lambda pair: bool(text_encoder_sources(wildcards.dataset, pair[1])))
    for image, text in pairs:
        if (wildcards.modality, wildcards.feature) in (("image", image), ("text", text)):
            return experiment1_dataset_file(wildcards.dataset, image, text)
    raise WorkflowError(f"{wildcards.dataset} has no {wildcards.modality} feature {wildcards.feature!r}")


def experiment1_neighbours(wildcards, side):
    """Cached neighbours of X (side "x") or Y ("y") for a training/scoring job."""
    image_side = (wildcards.direction == "i2t") == (side == "x")
    modality, feature = ("image", wildcards.image) if image_side else ("text", wildcards.text)
    return f"results/neighbours/{wildcards.dataset}/{modality}/{feature}.npz"


def experiment1_hyperparameters():
    return {**EXP1["hyperparameters"], "epochs": EXP1["epochs"]}


def experiment1_settings():
    """(mapping, loss) pairs to train, in config order. "paper": the pairs of the paper's tables
    (Tables 1/9 lin+nn mse, 3/4 nn-3+nn-5 mse, 5/6 max-margin, 7/8 cosine loss)."""
    pairs = [(m, loss) for m in EXP1["mappings"] for loss in EXP1["losses"]]
    if EXP1["settings"] == "paper":
        pairs = [(m, loss) for m, loss in pairs if loss == "mse" or m in ("lin", "nn")]
    return pairs


EXP1_SEARCH = EXP1["hyperparameter_search"]
if config["neighbours"]["table_k"] not in config["neighbours"]["k"]:
    raise WorkflowError(f"neighbours.table_k ({config['neighbours']['table_k']}) must be one of neighbours.k {config['neighbours']['k']}")


def experiment1_job_dir(wc):
    return f"results/experiment1/{wc.dataset}/{wc.image}/{wc.text}/{wc.direction}/{wc.mapping}/{wc.loss}"


def experiment1_train_inputs(wildcards):
    """The dataset, plus the CV-chosen hyper-parameters when the search is on."""
    files = {"data": experiment1_dataset_file(wildcards.dataset, wildcards.image, wildcards.text)}
    if EXP1_SEARCH["enabled"]:
        files["chosen"] = f"{experiment1_job_dir(wildcards)}/cv/chosen.json"
    return files


def experiment1_jobs():
    """(dataset, image, text, direction, mapping, loss) of every trained setting, in table order."""
    return [
        (d, image, text, direction, mapping, loss)
        for d in experiment1_datasets()
        for image, text in experiment1_pairs(d)
        for direction in EXP1["directions"]
        for mapping, loss in experiment1_settings()
    ]


def experiment1_scores():
    """Every scores file the tables need, in table order."""
    return [f"results/scores/{'/'.join(job)}/summary.csv" for job in experiment1_jobs()]


def experiment1_chosen():
    """Every CV choice (none when the search is off)."""
    if not EXP1_SEARCH["enabled"]:
        return []
    return [f"results/experiment1/{'/'.join(job)}/cv/chosen.json" for job in experiment1_jobs()]


def experiment1_checks():
    """Every training job's loss-decrease check."""
    return [f"results/experiment1/{'/'.join(job)}/checks.csv" for job in experiment1_jobs()]


# --- Features (issue 5) ----------------------------------------------------------------------------

FEATURES = config["features"]
BIGRU = FEATURES["bigru"]
BIGRU_FILE = "results/features/text/wikipedia/bigru.npz"
BIGRU_SOURCES = {
    "texts": "wikipedia_texts",
    "train_list": "wikipedia_trainset_list",
    "test_list": "wikipedia_testset_list",
    "categories": "wikipedia_categories",
}
VGGM_CONVERTED = "results/features/weights/vgg-m-128.pt"
# An encoder's weights when the config gives none: a registry entry, or the convert_vggm output.
ENCODER_WEIGHTS = {
    "resnet152": "torchvision_resnet152_weights",
    "vgg-m-128": VGGM_CONVERTED,
    "efficientnet-lite0": "efficientnet_lite0_weights",
}
with open(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml", encoding="utf-8") as _fh:
    _IMAGE_SET = yaml.safe_load(_fh)["properties"]["features"]["properties"]["images"]["additionalProperties"]
# validate() fills defaults of named keys only; an image set's own defaults come from its schema.
IMAGE_SET_DEFAULTS = {k: v["default"] for k, v in _IMAGE_SET["properties"].items() if "default" in v}


def bigru_label():
    """The honest name of our biGRU features (dimension added by the tables)."""
    spec = config["word_vectors"].get(BIGRU["embedding"])  # a missing name fails only when the biGRU is built
    vectors = spec["label"] if spec else BIGRU["embedding"]
    return f"biGRU (ours, trained on Wikipedia train texts, {vectors} inputs)"


def bigru_inputs(wildcards):
    files = {role: source_file(name) for role, name in BIGRU_SOURCES.items()}
    return {**files, "vectors": f"results/features/words/{BIGRU['embedding']}.kv"}


def text_encoder_sources(dataset, text):
    """Registry entries a text encoder's features are built from (the biGRU: Wikipedia texts + vectors)."""
    if dataset == "wikipedia" and text == "bigru":
        return list(BIGRU_SOURCES.values()) + list(config["word_vectors"].get(BIGRU["embedding"], {}).get("sources", []))
    return []


def file_or_source(name):
    """A config file reference: a path (it has a '/') or a registry entry name."""
    return name if "/" in name else source_file(name)


def encoder_weights(encoder, weights):
    return file_or_source(weights or ENCODER_WEIGHTS[encoder])


def image_set_spec(dataset):
    sets = FEATURES["images"]
    if dataset not in sets:
        raise WorkflowError(f"{dataset!r} is not a key of config features.images (have: {sorted(sets)})")
    return {**IMAGE_SET_DEFAULTS, **sets[dataset]}


def image_set_inputs(wildcards):
    spec = image_set_spec(wildcards.dataset)
    if spec["encoder"] != wildcards.encoder:
        raise WorkflowError(f"features.images.{wildcards.dataset} uses encoder {spec['encoder']!r}, not {wildcards.encoder!r}")
    return {"ids": [file_or_source(f) for f in spec["ids"]], "weights": encoder_weights(spec["encoder"], spec["weights"])}


def synset_inputs(wildcards):
    spec = FEATURES["synsets"]
    if not spec["folder"]:
        raise WorkflowError("config features.synsets.folder is not set: name an ImageNet-style folder (<synset>/<images>)")
    if spec["encoder"] != wildcards.encoder:
        raise WorkflowError(f"features.synsets uses encoder {spec['encoder']!r}, not {wildcards.encoder!r}")
    return {"weights": encoder_weights(spec["encoder"], spec["weights"]), "lemmas": source_file("timm_imagenet_synset_to_lemma")}


def features_targets():
    """Image feature files of the configured datasets and the synset vectors (when a folder is set)."""
    out = [f"results/features/image/{d}/{image_set_spec(d)['encoder']}.npz" for d in FEATURES["images"]]
    if FEATURES["synsets"]["folder"]:
        out.append(f"results/features/synsets/{FEATURES['synsets']['encoder']}.npz")
    return out


FEATURE_MAP_WIKIPEDIA = {
    "wikipedia_mat": "wikipedia_raw_features",
    "wikipedia_test_list": "wikipedia_testset_list",
    "wikipedia_categories": "wikipedia_categories",
}
# The authors' released IAPR TC-12 test-split features: (paper's feature name, modality, registry entry).
FEATURE_MAP_IAPR = (
    ("VGG-128", "image", "collell_iaprtc_ts_vis_vgg128"),
    ("ResNet", "image", "collell_iaprtc_ts_vis_resnet"),
    ("biGRU", "text", "collell_iaprtc_ts_lang_bigru"),
)


def _missing_sources(names):
    missing = [n for n in names if not at_hand(n)]
    if not missing:
        return None
    where = f"not in the mirror {MIRROR_DIR}" if MIRROR_DIR else "no mirror_dir set"
    return "inputs not at hand (" + ", ".join(f"{n}: {SOURCES[n].mirror_relpath}" for n in missing) + f"; {where})"


def feature_map_plan():
    """Rows of results/tables/feature_map.csv; a row whose inputs are not at hand keeps its reason."""
    wiki_missing = _missing_sources(FEATURE_MAP_WIKIPEDIA.values())
    dim = BIGRU["hidden"] * (2 if BIGRU["merge"] == "concat" else 1)
    wiki = dict(dataset="wikipedia", relevance="same category", reader="wikipedia")
    images_reason = "ours would need the raw Wikipedia images (not offline) and {} weights (features.images.wikipedia)"
    plan = [
        dict(wiki, feature="biGRU", features_used=f"{bigru_label()}, {dim}-d", modality="text", key="bigru",
             text_file="wikipedia_bigru", reason=wiki_missing or _missing_sources(text_encoder_sources("wikipedia", "bigru"))),
        dict(wiki, feature="ResNet", features_used="ResNet-152 (ours)", modality="image", reason=images_reason.format("ResNet-152")),
        dict(wiki, feature="VGG-128", features_used="VGG-M-128 (ours)", modality="image", reason=images_reason.format("VGG-M-128")),
        dict(wiki, feature="SIFT-128", features_used="SIFT-128 BoVW (dataset's), 128-d", modality="image", key="sift128", reason=wiki_missing),
        dict(wiki, feature="LDA-10", features_used="LDA-10 (dataset's), 10-d", modality="text", key="lda10", reason=wiki_missing),
        dict(wiki, feature="tf-idf-1000", features_used="tf-idf-1000 (dataset's), 1000-d", modality="text", key="tfidf1000", reason=wiki_missing),
    ]
    for feature, modality, source in FEATURE_MAP_IAPR:
        plan.append(dict(dataset="iaprtc12", feature=feature, features_used=f"{feature} (authors' released test-split features)",
                         modality=modality, relevance="shares a label id", reader="authors_csv", csv=source,
                         reason=_missing_sources([source])))
    return plan


def feature_map_inputs(wildcards):
    files = {}
    for row in feature_map_plan():
        if row["reason"]:
            continue
        if row["reader"] == "wikipedia":
            files.update({role: source_file(name) for role, name in FEATURE_MAP_WIKIPEDIA.items()})
            if row.get("text_file"):
                files[row["text_file"]] = BIGRU_FILE
        else:
            files[row["csv"]] = source_file(row["csv"])
    return files


def figure2_inputs():
    """Figure 2's per-dataset learning curves: the first (image, text) pair of each enabled set."""
    return [f"results/figures/figure2/{d}/{'/'.join(experiment1_pairs(d)[0])}.csv" for d in experiment1_datasets()]


def figure_targets():
    return ["results/figures/figure1.png", "results/figures/figure2.png"]


def default_targets():
    """The default target: every paper table, the feature check, the figures and the comparison."""
    tables = [f"results/tables/table{n}.csv" for n in range(1, 13)]
    return [*tables, "results/tables/feature_map.csv", *features_targets(), *figure_targets(), *report_targets()]


# --- Report (report.smk): the paper beside ours, heat-map, a page per table ----------------------

REPORT_RESOURCES = Path(workflow.basedir) / "workflow" / "resources"
COMPARISON_CSV = "results/tables/comparison.csv"
HEATMAP_PNG = "results/figures/heatmap.png"
PAPER_K = 10  # every published mNNO is mNNO^10 with each point counted among its own neighbours

# Tables shown inline: name -> (page title, report category). Caption: workflow/report/<name>.rst.
REPORT_TABLES = {
    "comparison": ("Published values beside ours (Tables 1-12)", "Comparison"),
    "table1": ("Table 1: mNNO, cosine neighbours, MSE loss, lin / nn", "Tables"),
    "table2": ("Table 2: untrained mappings, Spearman rho (GloVe / visual vectors)", "Tables"),
    "table3": ("Table 3: mNNO, cosine neighbours, MSE loss, nn-3 / nn-5", "Tables"),
    "table4": ("Table 4: mNNO, Euclidean neighbours, MSE loss, nn-3 / nn-5", "Tables"),
    "table5": ("Table 5: mNNO, cosine neighbours, max-margin loss, lin / nn", "Tables"),
    "table6": ("Table 6: mNNO, Euclidean neighbours, max-margin loss, lin / nn", "Tables"),
    "table7": ("Table 7: mNNO, cosine neighbours, cosine loss, lin / nn", "Tables"),
    "table8": ("Table 8: mNNO, Euclidean neighbours, cosine loss, lin / nn", "Tables"),
    "table9": ("Table 9: mNNO, Euclidean neighbours, MSE loss, lin / nn", "Tables"),
    "table10": ("Table 10: mNNO with word2vec, Euclidean neighbours (ImageNet)", "Tables"),
    "table11": ("Table 11: mNNO with word2vec, cosine neighbours (ImageNet)", "Tables"),
    "table12": ("Table 12: untrained mappings, Spearman rho (word2vec / VGG-128)", "Tables"),
    "hyperparameters": ("Experiment 1: chosen hyper-parameters per setting", "Experiment 1 details"),
    "training_checks": ("Experiment 1: training checks per setting", "Experiment 1 details"),
}


# K of the heat-map: the paper's 10 when configured, else the first configured K.
def heatmap_k():
    return PAPER_K if PAPER_K in config["neighbours"]["k"] else config["neighbours"]["k"][0]

# The REPORT_TABLES this workflow writes, in REPORT_TABLES order.
def report_tables():
    return [n for n in REPORT_TABLES if _written_by_a_rule(f"results/tables/{n}.csv")]

def report_page(name):
    return f"results/report/{name}.html"

# What `snakemake --report` needs built besides the tables and figures: comparison, heat-map, pages.
def report_targets():
    return [COMPARISON_CSV, HEATMAP_PNG, *[report_page(n) for n in report_tables()]]

# comparison.csv is written by rule comparison below.
def _written_by_a_rule(path):
    return path == COMPARISON_CSV or any(str(f) == path for r in workflow.rules for f in r.output)
