"""The Snakemake workflow: config validation, a tiny end-to-end run, caching and lint.

Each test runs snakemake in its own working folder (``-d``) against the project's Snakefile,
so nothing is written into the checkout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from crossmodal.datasets.wordsim import PAPER_BENCHMARKS

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2"]

TINY = {
    "experiment2": {"benchmarks": ["ws353"], "n_seeds": 2, "output_dim": 32, "nn_hidden_dim": 16},
}
# The Experiment 2 tests build table2 only (Experiment 1 has its own: tests/test_experiment1_workflow.py).
TABLE2 = "results/tables/table2.csv"


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return subprocess.run([*SNAKEMAKE, "-d", str(workdir), *args], capture_output=True, text=True, timeout=600)


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table (empty when nothing is to be done)."""
    assert result.returncode == 0, result.stderr + result.stdout
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "all"}


# --- config validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config, named",
    [
        ({"experiment2": {"n_seeds": 2, "bogus": 1}}, "experiment2.bogus: unknown key"),
        ({"mirror_dirr": "x"}, "mirror_dirr: unknown key"),
        ({"experiment2": {"n_seeds": "ten"}}, "experiment2.n_seeds: 'ten' is not of type 'integer'"),
        ({"experiment2": {"n_seeds": -3}}, "experiment2.n_seeds: -3 is less than the minimum of 1"),
        ({"neighbours": {"k": [0]}}, "neighbours.k.0: 0 is less than the minimum of 1"),
        ({"experiment2": {"benchmarks": ["ws999"]}}, "experiment2.benchmarks"),
    ],
)
def test_bad_config_stops_before_any_job_and_names_the_key(tmp_path, config, named):
    result = snakemake(tmp_path, config, "-n")
    assert result.returncode != 0
    assert "invalid config: " + named in result.stdout + result.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_mirror_config_plans_all_six_paper_benchmarks(tmp_path, shared_data):
    result = snakemake(tmp_path, {"mirror_dir": str(shared_data)}, "-n", "results/tables/table2.csv")
    jobs = planned_jobs(result)
    assert jobs["benchmark_pairs"] == len(PAPER_BENCHMARKS) == 6
    for key in PAPER_BENCHMARKS:
        assert f"results/experiment2/glove-6b-50d/{key}.csv" in result.stdout


def test_lint_passes():
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--lint"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_building_the_job_graph_imports_no_heavy_library():
    """Every crossmodal import of the Snakefile and rule files, run together, loads neither torch,
    gensim nor scipy: they cost seconds, and a no-op rerun should not pay them."""
    sources = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    imports = sorted({m.group(1) for f in sources
                      for m in re.finditer(r"^[ \t]*(from crossmodal\S* import \([^)]*\)|from crossmodal\S* import [^\n(]+|import crossmodal\S*)$",
                                           f.read_text(), re.M)})
    assert any("import plan" in line for line in imports)  # the scan found the rule files' imports
    probe = "\n".join([*imports, "import sys", "print(sorted(m for m in ('torch', 'gensim', 'scipy') if m in sys.modules))"])
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"heavy imports while building the graph: {result.stdout.strip()}"


# --- a tiny end-to-end run, caching and determinism ----------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    result = snakemake(workdir, TINY, TABLE2)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return workdir


def test_tiny_run_builds_table2_with_honest_labels(tiny_run):
    table = (tiny_run / "results/tables/table2.csv").read_text().splitlines()
    assert table[0] == "embedding,WS-353 cos,WS-353 eucl"
    assert [line.split(",")[0] for line in table[1:]] == ["f_nn(GloVe-6B-50d)", "f_lin(GloVe-6B-50d)", "GloVe-6B-50d"]
    long = (tiny_run / "results/tables/table2_long.csv").read_text()
    assert "gensim_wordsim353" in long  # which copy of the benchmark was really used
    assert not list(tiny_run.rglob("*.part*")), "temporary files left behind"


def test_rerun_is_a_no_op(tiny_run):
    assert planned_jobs(snakemake(tiny_run, TINY, "-n", TABLE2)) == {}


def test_same_config_gives_byte_identical_tables(tiny_run, tmp_path):
    assert snakemake(tmp_path, TINY, TABLE2).returncode == 0
    for name in ("table2.csv", "table2_long.csv"):
        assert (tmp_path / "results/tables" / name).read_bytes() == (tiny_run / "results/tables" / name).read_bytes()


def test_adding_a_benchmark_reruns_only_its_jobs(tiny_run):
    config = {"experiment2": {**TINY["experiment2"], "benchmarks": ["ws353", "simlex999"]}}
    jobs = planned_jobs(snakemake(tiny_run, config, "-n", TABLE2))
    assert jobs == {"fetch_source": 1, "benchmark_pairs": 1, "experiment2_rhos": 1, "table2": 1}


def test_changing_the_word_vectors_reruns_only_what_depends_on_them(tiny_run, tmp_path):
    words = ["tiger", "cat", "love", "sex", "book", "paper", "computer", "keyboard", "internet"]
    rng = np.random.default_rng(0)
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("".join(f"{w} " + " ".join(f"{x:.5f}" for x in rng.normal(size=8)) + "\n" for w in words))
    config = {**TINY, "word_vectors": {"glove-6b-50d": {"label": "random-8d", "format": "glove", "paths": [str(vectors)]}}}
    jobs = planned_jobs(snakemake(tiny_run, config, "-n", TABLE2))
    assert jobs == {"word_vectors": 1, "experiment2_rhos": 1, "table2": 1}


def test_nan_in_word_vectors_fails_with_one_line_and_keeps_nothing(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("tiger 0.1 0.2\ncat nan 0.3\n")
    config = {**TINY, "word_vectors": {"bad": {"label": "bad", "format": "glove", "paths": [str(vectors)]}},
              "experiment2": {**TINY["experiment2"], "embeddings": ["bad"]}}
    result = snakemake(tmp_path, config, "results/features/words/bad.kv")
    assert result.returncode != 0
    assert "error: ValueError: word vectors contain NaN/Inf: first bad row 1 (word 'cat')" in result.stdout + result.stderr
    assert not (tmp_path / "results/features/words/bad.kv").exists()
    assert not list((tmp_path / "results").rglob("*.part*"))
