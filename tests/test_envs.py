"""Every rule names a pinned conda env that exists, parses and agrees with pyproject's pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

import envcheck

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "pyyaml": "PyYAML"}  # conda-forge name -> PyPI name




def _pyproject_pins() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    pins = {}
    for req in reqs:
        name, _, version = req.partition("==")
        assert version, f"pyproject requirement {req!r} is not pinned with =="
        pins[name.lower()] = version
    return pins


def test_every_rule_has_log_and_a_conda_env_file():
    rules = envcheck.rules()
    assert "word_vectors" in rules and "table2" in rules
    for name, body in rules.items():
        if name == "all":
            continue
        assert re.search(r"^\s+log:", body, re.M), f"rule {name} has no log:"
        match = re.search(r"^\s+conda:\s*\n\s+\"([^\"]+)\"", body, re.M)
        assert match, f"rule {name} has no conda: env"
        assert (ROOT / "workflow" / "rules" / match.group(1)).resolve().is_file(), f"rule {name}: {match.group(1)} missing"


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_is_pinned_and_consistent_with_pyproject(env):
    spec = yaml.safe_load(env.read_text())
    assert spec["channels"][0] == "conda-forge"
    pins = _pyproject_pins()
    for dep in spec["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            sep = "==" if isinstance(dep, dict) else "="
            name, _, version = item.partition(sep)
            assert version, f"{env.name}: {item!r} is not pinned"
            if name == "python":
                assert version == "3.11"
                continue
            if name == "pip":  # the installer of an env's PyPI-only packages (a pip: section), not a requirement
                continue
            pypi = CONDA_NAMES.get(name, name).lower()
            assert pypi in pins, f"{env.name}: {name} is not a pinned requirement in pyproject.toml"
            assert pins[pypi] == version, f"{env.name}: {name}={version} but pyproject pins {pins[pypi]}"
