"""Every rule's script imports only what its own conda env holds (``--use-conda`` without conda).

Each script's imports (and so, transitively, crossmodal's) run in a fresh interpreter in which
every installed top-level package outside the rule's env file and its requirement closure
raises ImportError (tests/envcheck.py). A copy of an env with one package removed must fail,
which shows the check can fail.
"""

from __future__ import annotations

import re

import pytest

import envcheck as ec

RULES = {name: body for name, body in ec.rules().items() if name != "all"}
#: How crossmodal reaches every rule's env: the script puts this checkout's src/ first on
#: sys.path (README, "Per-rule environments"); no env installs crossmodal itself.
SRC_ON_PATH = 'sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))'


def _env_and_script(rule: str):
    pair = ec.rule_env_and_script(RULES[rule])
    assert pair is not None, f"rule {rule} names no conda env file or no script"
    return pair


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_script_imports_within_its_env(rule):
    env, script = _env_and_script(rule)
    result = ec.import_in_env(script, ec.load_env(env))
    assert result.returncode == 0, (
        f"rule {rule}: {script.name} cannot import in {env.name}:\n{result.stderr[-1500:]}"
    )


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_script_reaches_crossmodal_the_documented_way(rule):
    _, script = _env_and_script(rule)
    text = script.read_text()
    first_import = re.search(r"^(from|import) crossmodal", text, re.M)
    assert first_import, f"{script.name} does not use crossmodal"
    assert SRC_ON_PATH in text[: first_import.start()], f"{script.name} must put src/ on sys.path with {SRC_ON_PATH!r}"


def test_an_env_missing_a_package_fails():
    env, script = _env_and_script("table2")
    spec = ec.load_env(env)
    assert ec.import_in_env(script, spec).returncode == 0
    spec["dependencies"] = [d for d in spec["dependencies"] if not str(d).startswith("pandas=")]
    result = ec.import_in_env(script, spec)
    assert result.returncode != 0
    assert "No module named 'pandas' (not in this rule's env)" in result.stderr


def test_an_import_inside_a_function_outside_the_env_fails(tmp_path):
    """A job would fail only when the function runs; the check imports such imports up front,
    except those guarded by ``except ImportError`` (optional, as threadpoolctl in knn.py)."""
    package = tmp_path / "src" / "crossmodal"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "deferred.py").write_text(
        "def fit():\n    import torch\n    return torch\n\n\n"
        "def fast():\n    try:\n        import sklearn\n    except ImportError:\n        return None\n    return sklearn\n")
    script = tmp_path / "adapter.py"
    script.write_text("from crossmodal import deferred\n")
    env, _ = _env_and_script("table2")
    result = ec.import_in_env(script, ec.load_env(env), src=tmp_path / "src")
    assert result.returncode != 0
    assert "crossmodal.deferred imports torch inside a function" in result.stderr
    assert "sklearn" not in result.stderr


def test_a_torch_import_fails_in_the_tables_env():
    """The blocker reaches imports made by crossmodal's own modules, not only the script's."""
    env, _ = _env_and_script("table2")
    closure = ec.requirement_closure(ec.env_distributions(ec.load_env(env)))
    assert {"numpy", "pandas", "scipy"} <= closure and "torch" not in closure
    blocked = ec.blocked_modules(closure)
    assert "torch" in blocked and "numpy" not in blocked and "crossmodal" not in blocked
    heavy = ec.ROOT / "workflow" / "scripts" / "experiment1_train.py"
    result = ec.import_in_env(heavy, ec.load_env(env))
    assert result.returncode != 0 and "No module named 'torch'" in result.stderr
