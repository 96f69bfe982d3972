"""profiles/{local,slurm,kubernetes}: each one parses and plans the tiny workflow (dry runs).

The SLURM profile runs for real in tests/test_slurm.py. The Kubernetes route is only dry-run
here: no cluster is reachable. ``snakemake -n`` builds the job graph with the kubernetes
executor's settings and the profile's default storage (the ``fs`` plugin, its prefix pointed at a
temporary folder), but creates no executor, so it reads no kube config and contacts no API
server. To show that, the test runs it with KUBECONFIG naming a file that does not exist and
HOME in an empty folder.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from test_workflow import ROOT, SNAKEMAKE, TABLE2, TINY, planned_jobs, snakemake

PROFILES = ROOT / "profiles"
TINY_JOBS = {"fetch_source": 3, "benchmark_pairs": 1, "word_vectors": 1, "experiment2_rhos": 1, "table2": 1}


def test_local_profile_plans_the_tiny_workflow(tmp_path):
    result = snakemake(tmp_path, TINY, "-n", "--profile", str(PROFILES / "local"), TABLE2)
    assert planned_jobs(result) == TINY_JOBS
    # every rule states its own resources (crossmodal.plan.RESOURCES), so the profile's defaults go unused
    assert "runtime=10" in result.stdout and "runtime=60" not in result.stdout


def test_slurm_profile_plans_the_tiny_workflow(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install -e '.[cluster]' (scripts/setup.sh does)")
    result = snakemake(tmp_path, TINY, "-n", "--executor", "slurm", "--profile", str(PROFILES / "slurm"), TABLE2)
    assert planned_jobs(result) == TINY_JOBS


def test_kubernetes_route_dry_run_plans_the_tiny_workflow_without_a_cluster(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_kubernetes", reason="pip install -e '.[cluster]' (scripts/setup.sh does)")
    pytest.importorskip("snakemake_storage_plugin_fs", reason="pip install -e '.[cluster]' (scripts/setup.sh does)")
    workdir, home, prefix = tmp_path / "work", tmp_path / "home", tmp_path / "shared"
    for folder in (workdir, home, prefix):
        folder.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    result = subprocess.run([*SNAKEMAKE, "-d", str(workdir), "-n", "--executor", "kubernetes",
                             "--profile", str(PROFILES / "kubernetes"), "--default-storage-prefix", str(prefix), TABLE2],
                            capture_output=True, text=True, timeout=300, env=env)
    assert planned_jobs(result) == TINY_JOBS
    # every input and output goes through the default storage, under the prefix
    assert f"output: {prefix}/results/tables/table2.csv (send to storage)" in result.stdout
    assert not list(prefix.iterdir()) and not (workdir / "results").exists()  # a dry run writes nothing
