# Input functions of the rules. Every decision (datasets, pairs, settings, embeddings, benchmarks,
# Table 12 slots, feature-map rows, report pages) and every setting a rule passes on to its script
# lives in crossmodal.plan, built once here from the config, the source registry and what is at
# hand; the functions below only look things up in it. Report titles and captions are text:
# workflow/report/captions.yaml (crossmodal.report.captions) and workflow/report/<name>.rst.
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from crossmodal import plan as P
from crossmodal.report import captions as C
from crossmodal.sources import load_registry

ROOT = Path(workflow.basedir)
SOURCES = load_registry(ROOT / "workflow" / "sources.yaml")
MIRROR_DIR, MIRROR_URL = config.get("mirror_dir"), config.get("mirror_url")
try:
    WORLD = P.World.observe(SOURCES, ROOT, MIRROR_DIR, MIRROR_URL)
    PLAN = P.build_plan(config, WORLD)
except P.PlanError as err:
    raise WorkflowError(str(err))
EXP1 = config["experiment1"]  # methods.smk's seed and alpha


def report_titles():
    """{page name: title} of the report's table pages (workflow/report/captions.yaml)."""
    return C.page_titles(ROOT, P.REPORT_TABLES)


def experiment1_captions():
    """{"table<N>": caption} shown by workflow/report/table<N>.rst (workflow/report/captions.yaml)."""
    return C.experiment1_captions(ROOT, config)


def resources(kind):
    """A rule's mem_mb (from its inputs' size), runtime and GPU request: crossmodal.plan.RESOURCES."""
    return P.resources(kind, PLAN.device)


def source_file(name):
    """Where the fetch_source rule puts registry entry ``name``."""
    return P.source_file(WORLD, name)


def word_vector_inputs(wildcards):
    return P.word_vector_inputs(config, WORLD, wildcards.embedding)


def word_vector_format(wildcards):
    return P.word_vector_spec(config, wildcards.embedding)["format"]


# --- Experiment 1 ---------------------------------------------------------------------------------


def experiment1_dataset_inputs(wildcards):
    return P.dataset_inputs(config, WORLD, wildcards.dataset, wildcards.image, wildcards.text)


def experiment1_dataset_params(wildcards):
    return P.dataset_params(config, WORLD, wildcards.dataset)


def experiment1_splits_source(wildcards):
    return P.splits_source(config, wildcards.dataset)


def experiment1_neighbour_source(wildcards):
    return P.neighbour_source(config, wildcards.dataset, wildcards.modality, wildcards.feature)


def experiment1_neighbours(side):
    """Input function: the cached neighbours of X (side "x") or Y ("y") of a training/scoring job."""
    return lambda wc: P.neighbours_file(wc.dataset, wc.image, wc.text, wc.direction, side)


def experiment1_settings(pattern):
    """One path per (mapping, loss) setting, in config order: a training or scoring job's files."""
    return P.setting_files(config, pattern)


def experiment1_train_inputs(wildcards):
    """The dataset, plus the CV-chosen hyper-parameters of each setting when the search is on."""
    files = {"data": PLAN.experiment1.dataset_file(wildcards.dataset, wildcards.image, wildcards.text),
             "splits": P.splits_file(wildcards.dataset)}
    if PLAN.experiment1.search:
        group = P.group_jobs(config, wildcards.dataset, wildcards.image, wildcards.text, wildcards.direction)
        files["chosen"] = [P.chosen_file(job) for job in group]
    return files


# --- Experiment 2 ---------------------------------------------------------------------------------


def benchmark_source(wildcards):
    return P.benchmark_source(WORLD, wildcards.benchmark)


def experiment2_vectors(wildcards):
    return P.experiment2_vectors(config, wildcards.embedding)


def experiment2_label(wildcards):
    return P.experiment2_label(config, wildcards.embedding)


def visual_vectors_input(wildcards):
    return P.visual_vectors_input(wildcards.visual)


# --- Features -------------------------------------------------------------------------------------


def bigru_inputs(wildcards):
    return P.bigru_inputs(config, WORLD)


def image_set_inputs(wildcards):
    return P.image_set_inputs(config, WORLD, wildcards.dataset, wildcards.encoder)


def image_set_spec(wildcards):
    return P.image_set_spec(config, wildcards.dataset, P.image_set_defaults(ROOT))


def synset_inputs(wildcards):
    return P.synset_inputs(config, WORLD, wildcards.encoder)


def feature_map_inputs(wildcards):
    return P.feature_map_inputs(WORLD, PLAN.feature_map)
