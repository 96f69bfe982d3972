"""crossmodal.plan: the workflow's decisions, built from plain dicts without Snakemake."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from crossmodal import plan as P
from crossmodal.config import with_defaults
from crossmodal.sources import load_registry
from test_workflow import planned_jobs, snakemake

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SOURCES = load_registry(ROOT / "workflow" / "sources.yaml")
PACKAGES = frozenset(name for name, s in SOURCES.items() if s.kind == "package")


def raw_config(**overrides) -> dict:
    return {**yaml.safe_load((ROOT / "config.yaml").read_text()), **overrides}


def config(**overrides) -> dict:
    return with_defaults(raw_config(**overrides), SCHEMA)


def world(extra=(), mirror=None) -> P.World:
    return P.World(SOURCES, PACKAGES | frozenset(extra), mirror, ROOT)


def mirror_world(shared_data: Path) -> P.World:
    held = {n for n, s in SOURCES.items() if s.kind != "package" and (shared_data / s.mirror_relpath).is_file()}
    return world(held, str(shared_data))


def test_plan_imports_neither_torch_nor_snakemake():
    code = "import crossmodal.plan, sys; assert not {'torch', 'snakemake'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_default_plan_without_a_mirror():
    plan = P.build_plan(config(), world())
    exp1 = plan.experiment1
    assert exp1.datasets == ("imagenet1k_concepts",)
    assert exp1.pairs["imagenet1k_concepts"] == (("efficientnet_lite0_fc", "glove6b50d"),)
    # the paper's pairs: every mapping with mse, lin/nn also with cosine and max-margin; both directions
    assert len(P.settings(config())) == 8 and len(exp1.jobs) == 16
    assert {(j.mapping, j.loss) for j in exp1.jobs} == {
        ("lin", "mse"), ("nn", "mse"), ("nn-3", "mse"), ("nn-5", "mse"),
        ("lin", "cosine"), ("nn", "cosine"), ("lin", "max-margin"), ("nn", "max-margin")}
    assert exp1.iaprtc12_split == "test_cv" and exp1.chosen == []
    exp2 = plan.experiment2
    assert [b.key for b in exp2.benchmarks] == ["ws353", "simlex999"]
    assert [b.source for b in exp2.benchmarks] == ["gensim_wordsim353", "gensim_simlex999"]
    assert exp2.embeddings == ("glove-6b-50d", "visual-imagenet1k_concepts")
    assert [s.embedding for s in exp2.table12] == [None, None]
    assert "no mirror_dir or mirror_url is set" in exp2.table12[0].reason
    assert all(row["reason"] for row in plan.feature_map)  # nothing of the feature map is offline
    assert "results/tables/table1.csv" in plan.default_targets and P.HEATMAP_PNG in plan.default_targets


def test_search_adds_one_choice_per_job():
    exp1 = P.build_plan(config(experiment1={"hyperparameter_search": {"enabled": True}}), world()).experiment1
    assert len(exp1.chosen) == len(exp1.jobs) and exp1.chosen[0].endswith("/cv/chosen.json")


def test_iaprtc12_takes_the_official_split_only_when_every_training_file_is_at_hand():
    cfg = config(experiment1={"datasets": {"iaprtc12": {"enabled": True}}})
    test_split = ["collell_iaprtc_ts_vis_vgg128", "collell_iaprtc_ts_lang_bigru"]
    train_split = ["collell_iaprtc_tr_vis_vgg128", "collell_iaprtc_tr_lang_bigru"]
    assert P.iaprtc12_split(cfg, world(test_split)) == "test_cv"
    assert P.iaprtc12_split(cfg, world(test_split + train_split[:1])) == "test_cv"
    assert P.iaprtc12_split(cfg, world(test_split + train_split)) == "official"
    raw = P.dataset_raw_inputs(cfg, world(test_split + train_split), "iaprtc12", "vgg128", "biGRU")
    assert set(raw) == {"vis_tr", "lang_tr", "vis_ts", "lang_ts"}


def test_auto_datasets_follow_what_is_at_hand():
    cfg = config()
    assert P.experiment1(cfg, world(["collell_iaprtc_ts_vis_vgg128"])).datasets == ("imagenet1k_concepts",)
    both = ["collell_iaprtc_ts_vis_vgg128", "collell_iaprtc_ts_lang_bigru"]
    assert P.experiment1(cfg, world(both)).datasets == ("imagenet1k_concepts", "iaprtc12")


def test_authors_folder_files_are_looked_up_on_disk(tmp_path):
    (tmp_path / "vis_resnet.csv").write_text("a,1\n")
    cfg = config(experiment1={"datasets": {"imagenet_authors": {"folder": str(tmp_path), "image_features": ["resnet"],
                                                                "text_features": ["glove"]}}})
    assert "imagenet_authors" not in P.experiment1(cfg, world()).datasets  # lang_glove.csv is missing
    (tmp_path / "lang_glove.csv").write_text("a,1\n")
    assert "imagenet_authors" in P.experiment1(cfg, world()).datasets


def test_table12_names_a_configured_embedding_or_explains_the_gap():
    cfg = config(experiment2={"table12": {"word2vec": "nope"}})
    with pytest.raises(P.PlanError, match="experiment2.table12.word2vec: 'nope' is neither"):
        P.experiment2(cfg, world())
    cfg = config(experiment2={"table12": {"word2vec": None, "vgg128": "visual-imagenet1k_concepts"}})
    slots = P.experiment2(cfg, world()).table12
    assert slots[0].reason == "not configured (experiment2.table12.word2vec is null)"
    assert slots[1].embedding == "visual-imagenet1k_concepts"


def test_visual_synsets_need_a_folder():
    with pytest.raises(P.PlanError, match="features.synsets.folder is not set"):
        P.experiment2(config(experiment2={"visual": ["synsets"]}), world())


def test_bad_table_k_is_a_plan_error():
    with pytest.raises(P.PlanError, match="table_k"):
        P.build_plan(config(neighbours={"k": [5], "table_k": 10}), world())


def _expected_jobs(plan: P.Plan, cfg: dict) -> Counter:
    """Job counts per rule that the plan implies for a cold run of the default target."""
    exp1, exp2 = plan.experiment1, plan.experiment2
    counts: Counter = Counter()
    for dataset in exp1.datasets:
        rule = {"imagenet1k_concepts": "experiment1_concepts", "wikipedia": "experiment1_wikipedia"}.get(
            dataset, "experiment1_authors_csv")
        counts[rule] += len(exp1.pairs[dataset])
        counts["experiment1_splits"] += 1
        counts["experiment1_neighbours"] += len({("image", i) for i, _ in exp1.pairs[dataset]}
                                                | {("text", t) for _, t in exp1.pairs[dataset]})
    counts["experiment1_train"] = counts["experiment1_scores"] = len(exp1.groups)  # one job per dataset x pair x direction
    counts["experiment1_cv"] = len(exp1.chosen)
    counts["figure2_curves"] = len(exp1.datasets)
    embeddings = set(exp2.embeddings) | {s.embedding for s in exp2.table12 if s.embedding}
    counts["experiment2_rhos"] = len(embeddings)  # one job per embedding, for every benchmark
    counts["benchmark_pairs"] = len(exp2.benchmarks)
    counts["word_vectors"] = len({e for e in embeddings if not P.is_visual(e)}
                                 | ({cfg["features"]["bigru"]["embedding"]} if "wikipedia" in exp1.datasets else set()))
    counts["visual_word_vectors"] = len({e for e in embeddings if P.is_visual(e)})
    counts["bigru_features"] = int("bigru" in {t for d in exp1.datasets for _, t in exp1.pairs[d]})
    return +counts


@pytest.mark.parametrize("mirror", [False, True], ids=["default", "mirror"])
def test_plan_job_counts_match_snakemake_dry_run(tmp_path, request, mirror):
    overrides = {}
    if mirror:
        shared = request.getfixturevalue("shared_data")
        overrides["mirror_dir"] = str(shared)
    cfg = config(**overrides)
    plan = P.build_plan(cfg, mirror_world(Path(overrides["mirror_dir"])) if mirror else world())
    jobs = planned_jobs(snakemake(tmp_path, raw_config(**overrides), "-n"))
    expected = _expected_jobs(plan, cfg)
    assert {rule: jobs.get(rule, 0) for rule in expected} == dict(expected)
    if mirror:  # 5 feature pairs x 2 directions, each job training its 8 settings
        assert jobs["experiment1_train"] == 10 and len(plan.experiment1.jobs) == 80


def test_rule_files_share_names_only_through_common_smk():
    """No include order matters: a topic's rule file defines names only for itself, and
    common.smk (included first) uses none of theirs."""
    rules = ROOT / "workflow" / "rules"
    texts = {f.name: f.read_text() for f in rules.glob("*.smk")}
    defined = {name: set(re.findall(r"^(?:def ([a-z_]\w*)|([A-Z_][A-Z0-9_]*) =)", text, re.M)) for name, text in texts.items()}
    defined = {name: {a or b for a, b in pairs} for name, pairs in defined.items()}
    assert "common.smk" in texts and "P" not in defined["common.smk"]
    for owner, names in defined.items():
        if owner == "common.smk":
            continue
        for other, text in texts.items():
            if other != owner:
                used = {n for n in names if re.search(rf"\b{n}\b", text)}
                assert not used, f"{other} uses {sorted(used)} defined in {owner}"
    assert len(texts["common.smk"].splitlines()) <= 150


def test_every_rule_declares_threads_and_resources():
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule )", path.read_text())[1:]:
            name = block.split(":", 1)[0]
            assert re.search(r"(?m)^    threads:", block), f"{path.name}: {name} has no threads"
            kind = re.search(r'(?m)^    resources:\n        \*\*resources\("(\w+)"\)', block)
            assert kind and kind.group(1) in P.RESOURCES, f"{path.name}: {name} has no known resources kind"


def test_resources_grow_with_the_input_and_on_retry_and_ask_a_gpu_only_for_cuda():
    training = P.resources("training", "cpu")
    assert "gpu" not in training and P.resources("training", "cuda:1")["gpu"] == 1
    assert "gpu" not in P.resources("light", "cuda")
    mem, runtime = training["mem_mb"], training["runtime"]

    class Inputs:
        size_mb = 100.0

    spec = P.RESOURCES["training"]
    assert mem(None, Inputs(), 1) == spec.base_mb + 100 * spec.per_input_mb
    assert mem(None, Inputs(), 2) == 2 * mem(None, Inputs(), 1)
    assert (runtime(None, 1), runtime(None, 3)) == (spec.runtime, 4 * spec.runtime)


def test_methods_run_on_every_pair_of_the_enabled_datasets_they_name(shared_data):
    default = P.build_plan(config(), world())
    assert default.methods.pairs == () and default.methods.targets == []  # neither set at hand offline
    mirror = P.build_plan(config(mirror_dir=str(shared_data)), mirror_world(shared_data))
    exp1 = mirror.experiment1
    assert mirror.methods.pairs == tuple((d, i, t) for d in ("wikipedia", "iaprtc12") for i, t in exp1.pairs[d])
    assert P.METHODS_TABLES[0] in mirror.methods.targets and P.METHODS_TABLES[0] not in mirror.default_targets
    in_all = P.build_plan(config(mirror_dir=str(shared_data), methods={"in_all": True}), mirror_world(shared_data))
    assert set(in_all.methods.targets) <= set(in_all.default_targets)
