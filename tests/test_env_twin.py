"""The tables env, for real: a venv from PyPI holding exactly envs/tables.yaml's packages runs
the table rules of a tiny workflow, as ``--use-conda`` would run them in that env.

Conda cannot run here, so its twin is a PyPI venv: ``tables.yaml``'s packages at their pins (and
what pip brings for them), plus crossmodal with ``--no-deps``. The tiny workflow first runs in
the project's .venv with ``--skip-script-cleanup``, which keeps the script files Snakemake wrote
for every job (its preamble plus the adapter). Each table rule's kept script is then run again,
as Snakemake runs a script inside a conda env: ``python <kept script>`` with the env's
interpreter, in the working folder. Snakemake's preamble appends its own interpreter's
``sys.path`` (it needs the snakemake package to unpickle the job), so everything outside the
env's and snakemake's requirement closures is blocked, or torch could leak in from there.
The regenerated tables must be byte-identical to the .venv run's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import envcheck as ec
from test_experiment1_workflow import authors_release, tiny_config
from test_workflow import TINY, snakemake

pytestmark = pytest.mark.slow

TABLES_ENV = ec.ROOT / "envs" / "tables.yaml"
TARGETS = ("results/tables/table2.csv", "results/tables/table1.csv", "results/tables/table12.csv")

_RUN_KEPT_SCRIPT = ec.BLOCKER + """
import runpy
blocked, script = json.loads(sys.argv[1])
install_block(blocked)
sys.argv = [script]
runpy.run_path(script, run_name="__main__")
print("USED " + json.dumps({m: sys.modules[m].__file__ for m in ("numpy", "pandas", "scipy") if m in sys.modules}))
print("LOADED " + json.dumps(sorted({m.partition(".")[0] for m in sys.modules})))
"""


def pypi_pins(env: dict) -> list[str]:
    """The env's packages as pip requirements at the same pins."""
    pins = []
    for dep in env["dependencies"]:
        assert isinstance(dep, str), "tables.yaml has no pip section"
        name, _, version = dep.partition("=")
        if name != "python":
            pins.append(f"{ec.CONDA_TO_PYPI.get(name, name)}=={version}")
    return pins


@pytest.fixture(scope="module")
def twin(tmp_path_factory) -> Path:
    """The venv twin of envs/tables.yaml; returns its python."""
    venv = tmp_path_factory.mktemp("twin") / "tables-env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for args in (pypi_pins(ec.load_env(TABLES_ENV)), ["--no-deps", str(ec.ROOT)]):
        result = subprocess.run([*pip, *args], capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.skip(f"cannot build the PyPI twin of tables.yaml (no package index?): {result.stderr[-500:]}")
    return python


def installed(python: Path) -> set[str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return {ec.canonicalize_name(d["name"]) for d in json.loads(out)}


def test_twin_holds_exactly_the_env(twin):
    want = ec.requirement_closure(ec.env_distributions(ec.load_env(TABLES_ENV)))
    # pip and setuptools are what `python -m venv` seeds (a conda env with python has them too).
    extra = installed(twin) - want - {"crossmodal", "pip", "setuptools"}
    assert want <= installed(twin), f"missing: {want - installed(twin)}"
    assert not extra, f"the twin holds packages outside tables.yaml's closure: {sorted(extra)}"


def test_table_rules_run_in_the_twin_and_give_identical_tables(twin, tmp_path):
    release = authors_release(tmp_path / "release" / "imagenet")
    config = {**tiny_config(release), **TINY}
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = snakemake(workdir, config, "--skip-script-cleanup", *TARGETS)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]

    rules = {name: ec.rule_env_and_script(body) for name, body in ec.rules().items()}
    table_rules = {name: pair[1] for name, pair in rules.items() if pair and pair[0] == TABLES_ENV.resolve()}
    assert {"table2", "table12", "experiment1_tables"} <= set(table_rules)
    # Snakemake's own requirements stay importable, as its preamble puts them on the path.
    allowed = ec.requirement_closure(ec.env_distributions(ec.load_env(TABLES_ENV)) | {"snakemake"})
    blocked = ec.blocked_modules(allowed)
    assert "torch" in blocked and "matplotlib" in blocked

    ran = 0
    for rule, script in sorted(table_rules.items()):
        kept = sorted((workdir / ".snakemake" / "scripts").glob(f"tmp*.{script.name}"))
        if not kept:
            continue  # a table rule the tiny targets do not need
        assert len(kept) == 1, f"{rule}: {kept}"
        before = {p: p.read_bytes() for p in (workdir / "results" / "tables").glob("*.csv")}
        for path in before:
            path.unlink()  # the rule must write its outputs anew
        run = subprocess.run([str(twin), "-c", _RUN_KEPT_SCRIPT, json.dumps([blocked, str(kept[0])])],
                             capture_output=True, text=True, cwd=workdir, timeout=600)
        assert run.returncode == 0, f"rule {rule} failed in the twin:\n{run.stderr[-3000:]}"
        used = json.loads(run.stdout.split("USED ", 1)[1].splitlines()[0])
        assert used and all(str(twin.parent.parent) in path for path in used.values()), used
        loaded = set(json.loads(run.stdout.split("LOADED ", 1)[1].splitlines()[0]))
        assert "torch" not in loaded and "gensim" not in loaded
        rewritten = {p for p in before if p.is_file()}
        assert rewritten, f"rule {rule} wrote no table"
        for path in rewritten:
            assert path.read_bytes() == before[path], f"rule {rule}: {path.name} differs from the .venv run"
        for path in set(before) - rewritten:  # the other rules' tables, put back for the next one
            path.write_bytes(before[path])
        ran += 1
    assert ran == 3
    shutil.rmtree(workdir / ".snakemake" / "scripts", ignore_errors=True)
