"""The tiny workflow on a real one-node SLURM cluster, through profiles/slurm.

``scripts/slurm-cluster.sh start`` brings up munged, slurmctld and slurmd on localhost (Debian's
``slurm-wlm`` and ``munge``; ``.ci/run`` installs them), in a private state dir and on free
ports; the module's teardown runs ``stop``. The smallest target that makes a table, Table 2 of
the tiny config (7 jobs), is built twice: once locally, once with ``--executor slurm --profile
profiles/slurm``. The tables must be byte-identical, and every job must have gone through SLURM:
submitted by sbatch (the executor's log names each SLURM job id), completed in SLURM's own records
(``squeue --states=all`` and the job-completion log, which ``sacct --completion`` reads), with
its output in the SLURM log file that slurmstepd wrote.

The cluster has no accounting database, so the executor queries job states with squeue (the
script sets MinJobAge to an hour); it checks from 1 s after submission, not the default 40 s,
and it uses no account. Each step is bounded by a subprocess timeout; the SLURM run takes
about 1.5 minutes on 2 cores.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from test_workflow import SNAKEMAKE, TABLE2, TINY, planned_jobs, snakemake
from test_workflow import tiny_run as local_run  # noqa: F401  (the tiny run without a scheduler, a fixture)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "slurm-cluster.sh"
TOOLS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scontrol", "sacct")
SLURM_RUN_TIMEOUT = 480  # seconds; the run takes about 90


def _why_no_cluster() -> str | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])  # the daemons live in sbin
    missing = [tool for tool in TOOLS if shutil.which(tool, path=search) is None]
    if missing:
        return (f"SLURM/munge not installed (missing {', '.join(missing)}): "
                "apt-get install slurm-wlm munge (.ci/run does)")
    if os.geteuid() != 0:
        return "the one-node SLURM cluster runs its daemons as root; run the tests as root"
    if Path("/etc/slurm/slurm.conf").exists():
        return "a system /etc/slurm/slurm.conf exists: the test cluster would be shadowed by it"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm not installed (pip install -e '.[cluster]'; scripts/setup.sh does)"
    return None


def _free_port_pair() -> int:
    """A port p with p and p + 1 free (slurmctld and slurmd)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65535:
            with socket.socket() as s2:
                try:
                    s2.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two adjacent free ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The running cluster's environment (SLURM_CONF etc.) and state dir; stopped at the end."""
    reason = _why_no_cluster()
    if reason:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm") / "cluster"
    env = {**os.environ, "SLURM_CLUSTER_DIR": str(state), "SLURM_CLUSTER_PORT": str(_free_port_pair())}
    try:
        start = subprocess.run(["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120)
        if start.returncode != 0 and "another cluster runs on this machine" in start.stderr:
            pytest.skip(start.stderr.strip())
        assert start.returncode == 0, start.stdout + start.stderr
        print(start.stdout)  # sinfo
        env["SLURM_CONF"] = str(state / "etc" / "slurm.conf")
        yield env, state
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    env, _ = cluster
    workdir = tmp_path_factory.mktemp("on_slurm")
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    command = [*SNAKEMAKE, "-d", str(workdir), "--executor", "slurm", "--profile", str(ROOT / "profiles" / "slurm"),
               "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
               "--slurm-no-account", TABLE2]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=SLURM_RUN_TIMEOUT)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir, result


def test_tables_on_slurm_are_byte_identical_to_the_local_run(slurm_run, local_run):
    workdir, _ = slurm_run
    local = sorted(p.name for p in (local_run / "results/tables").glob("*.csv"))
    remote = sorted(p.name for p in (workdir / "results/tables").glob("*.csv"))
    assert local == remote == ["table2.csv", "table2_long.csv"]
    for name in local:
        assert (workdir / "results/tables" / name).read_bytes() == (local_run / "results/tables" / name).read_bytes(), name


def test_every_job_ran_as_a_slurm_job(cluster, slurm_run):
    env, state = cluster
    workdir, result = slurm_run
    text = result.stdout + result.stderr
    jobs = planned_jobs(result)
    assert jobs == {"fetch_source": 3, "benchmark_pairs": 1, "word_vectors": 1, "experiment2_rhos": 1, "table2": 1}
    run_id = re.search(r"SLURM run ID: (\S+)", text)[1]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.", text)
    assert len(submitted) == sum(jobs.values()), text[-3000:]
    ids = {job_id for job_id, _ in submitted}

    # slurmctld's record of the run: every job of this run, completed
    squeue = subprocess.run(["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T|%j"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert squeue.returncode == 0, squeue.stderr
    rows = dict(line.split("|", 1) for line in squeue.stdout.split())
    assert set(rows) == ids and all(row == f"COMPLETED|{run_id}" for row in rows.values()), squeue.stdout

    # the job-completion log (jobcomp/filetxt), as sacct --completion lists it
    records = {m[1]: m[0] for m in re.finditer(r"JobId=(\d+) .*", (state / "jobcomp.log").read_text())}
    for job_id in ids:
        assert f"Name={run_id} JobState=COMPLETED" in records[job_id]
        assert f"WorkDir={workdir} " in records[job_id]
    sacct = subprocess.run(["sacct", "--completion", "--format=JobID,JobName%40,Partition,NodeList,State,End"],
                           env=env, capture_output=True, text=True, timeout=60)
    print(sacct.stdout)

    # the SLURM log of each job (written by slurmstepd): the rule ran there and finished
    rules = set()
    for job_id, log in submitted:
        log = Path(log)
        assert log.is_relative_to(workdir / ".snakemake" / "slurm_logs") and log.name == f"{job_id}.log"
        content = log.read_text()
        rule = re.search(r"^rule (\w+):", content, re.M)[1]
        assert f"Finished jobid: 0 (Rule: {rule})" in content
        rules.add(rule)
    assert rules == set(jobs)
