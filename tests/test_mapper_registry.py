"""One registry of mappings: a mapping registered once (a test-only plugin module) reaches the CLI, the
bridge, the config and Table 13; nothing else lists the mapping names; the CLI answers without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_bridge import ref_nno
from test_experiment1_workflow import EXP1, authors_release
from test_workflow import snakemake

from crossmodal.mappers.registry import PLUGINS_ENV, choices, experiment1_names, get, table_names
from crossmodal.mappings.splits import kfold_indices

ROOT = Path(__file__).resolve().parents[1]
TOY = Path(__file__).resolve().parent / "plugins" / "toy_mapper.py"
CLI = [sys.executable, "-c", "import sys; from crossmodal.cli import main; sys.exit(main(sys.argv[1:]))"]


def run_cli(*args: str, plugin: bool = True, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, PLUGINS_ENV: str(TOY)} if plugin else {k: v for k, v in os.environ.items() if k != PLUGINS_ENV}
    cmd = [CLI[0], *python, *CLI[1:]]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=300)


def test_the_toy_plugin_appears_in_the_cli_choices_and_listing():
    help_text = run_cli("bridge", "--help").stdout
    assert "toy-lstsq" in "".join(help_text.split())  # argparse may wrap at the hyphen
    assert "toy-lstsq" not in "".join(run_cli("bridge", "--help", plugin=False).stdout.split())
    listed = json.loads(run_cli("mappers", "--json").stdout)
    toy = next(m for m in listed if m["name"] == "toy-lstsq")
    assert toy["params"] == [{"name": "alpha", "type": "float", "default": 0.0, "help": "ridge penalty"}]


def test_the_toy_plugin_runs_in_bridge_and_matches_a_brute_force_reference(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 6))
    Y = X @ rng.standard_normal((6, 4)) + 0.5 * rng.standard_normal((40, 4))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    out = run_cli("bridge", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--mapper", "toy-lstsq", "--param",
                  "alpha=2.5", "--k", "3", "--folds", "4", "--permutations", "0", "--bootstrap", "0", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["setup"]["mapper"] == "toy-lstsq" and res["setup"]["mapper_details"]["params"] == {"alpha": 2.5}
    x_f = y_f = 0
    for tr, te in kfold_indices(40, 4, 0):
        W = np.linalg.solve(X[tr].T @ X[tr] + 2.5 * np.eye(6), X[tr].T @ Y[tr])
        F = (X[te] @ W).astype(np.float32)
        x_f += ref_nno(X[te], F, 3, "cosine", False).sum()
        y_f += ref_nno(Y[te], F, 3, "cosine", False).sum()
    assert (res["mnno_x_f"], res["mnno_y_f"]) == (x_f / 120, y_f / 120)
    bad = run_cli("bridge", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--mapper", "toy-lstsq", "--param", "beta=1")
    assert bad.returncode == 1 and "no selected mapper has a parameter 'beta'" in bad.stderr


def test_several_mappers_share_one_run_and_equal_their_single_runs(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((36, 5))
    Y = np.tanh(X @ rng.standard_normal((5, 5)))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    common = ["--k", "3", "--folds", "3", "--permutations", "49", "--bootstrap", "50", "--json"]
    many = run_cli("bridge", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--mapper", "ridge,toy-lstsq,procrustes",
                   *common, "--out", str(tmp_path / "cmp"))
    assert many.returncode == 0, many.stderr
    table = json.loads(many.stdout)
    assert [r["mapper"] for r in table["table"]] == ["ridge", "toy-lstsq", "procrustes"]
    for name in ("ridge", "toy-lstsq"):
        one = json.loads(run_cli("bridge", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--mapper", name,
                                 *common).stdout)
        assert table["results"][name] == one  # shared neighbours and null change nothing
    assert (tmp_path / "cmp" / "comparison.csv").read_text().splitlines()[0].startswith("mapper,space,mnno_x_f")
    assert (tmp_path / "cmp" / "toy-lstsq" / "bridge.json").is_file()


def test_mapping_names_are_listed_once():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    exp1 = schema["properties"]["experiment1"]["properties"]["mappings"]["items"]["enum"]
    assert tuple(exp1) == experiment1_names()  # the schema's enum is checked against the registry
    methods = schema["properties"]["methods"]["properties"]["methods"]
    assert "enum" not in methods["items"] and methods["default"] == ["all"]  # names checked by the plan
    assert table_names() == ("lin", "nn", "lin-adv", "nn-adv", "lin-nbr", "nn-nbr", "cca", "kcca", "dcca", "corr-ae",
                             "classifier", "vse++")  # Tables 13/14's rows, in the registry's order
    assert get("vse").name == "vse++" and get("adversarial").name == "nn-adv"
    with pytest.raises(ValueError, match="unknown mapper 'svm'"):
        get("svm")
    assert set(choices()) >= {"dcca", "vse", "adversarial", "cca-predict"}


@pytest.mark.parametrize("args", [("--help",), ("bridge", "--help"), ("mappers",)])
def test_the_cli_answers_without_torch_or_sklearn(args):
    out = run_cli(*args, plugin=False, python=("-X", "importtime"))
    assert out.returncode == 0, out.stderr
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "crossmodal.cli" in imported
    assert not {m for m in imported if m.split(".")[0] in ("torch", "sklearn")}, sorted(imported)[:20]


def test_the_toy_plugin_passes_the_config_schema_and_gets_its_table13_row(tmp_path):
    release = authors_release(tmp_path / "release" / "imagenet")
    config = {"experiment1": {**EXP1, "hyperparameter_search": {"enabled": False},
                              "datasets": {"imagenet_authors": {"folder": str(release), "image_features": ["resnet"],
                                                                "text_features": ["glove"]}}},
              "neighbours": {"k": [5], "table_k": 5}, "mapper_plugins": [str(TOY)],
              "methods": {"datasets": ["imagenet_authors"], "methods": ["toy-lstsq"], "n_folds": 2, "max_epochs": 2,
                          "n_bootstrap": 100}}
    (tmp_path / "work").mkdir()
    result = snakemake(tmp_path / "work", config, "results/tables/table13.csv")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    lines = (tmp_path / "work/results/tables/table13.csv").read_text().splitlines()
    rows = [r for r in lines[1:] if ",toy-lstsq," in r]
    assert len(rows) == 2  # both directions
    hp = (tmp_path / "work/results/methods/hyperparameters.csv").read_text()
    assert "toy-lstsq" in hp and "validation MSE of f(X) against Y" in hp
    config["methods"]["methods"] = ["toy-lstsq", "no-such-mapper"]
    bad = snakemake(tmp_path / "work", config, "-n", "results/tables/table13.csv")
    assert bad.returncode != 0 and "unknown mapper 'no-such-mapper'" in bad.stdout + bad.stderr
