"""The report's shared and config-dependent wording, read from one file: workflow/report/captions.yaml.

The workflow passes these texts on as rule params: the table pages' titles
(``results/report/<name>.html``) and the captions of Experiment 1's paper tables, which
``workflow/report/table<N>.rst`` show. Rewording happens in the YAML file only; this module fills
in the placeholders. It imports nothing heavy: the Snakefile reads it while building the job graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crossmodal.names import PAPER_K, PAPER_TABLES

CAPTIONS_FILE = "workflow/report/captions.yaml"


@cache
def load_captions(root: Path) -> dict[str, Any]:
    """The captions file of the project at ``root`` (read once per run)."""
    return yaml.safe_load((Path(root) / CAPTIONS_FILE).read_text(encoding="utf-8"))


def page_titles(root: Path, names: Iterable[str]) -> dict[str, str]:
    """{page name: title} of the report's table pages, in ``names`` order."""
    titles = load_captions(root)["titles"]
    return {name: titles[name] for name in names}


def experiment1_caption(root: Path, config: Mapping, number: int) -> str:
    """The report caption of Experiment 1 paper table ``number`` (reStructuredText)."""
    text, spec, exp1 = load_captions(root)["experiment1"], PAPER_TABLES[number], config["experiment1"]
    mappings = "word2vec" if spec.word2vec else "table1" if number == 1 else " / ".join(spec.mappings)
    caption = text["caption"].format(
        where=text["where"].get(number, text["where"]["other"]).format(number=number),
        data=text["data"]["word2vec" if spec.word2vec else "other"],
        metric=text["metric"][spec.metric], loss=text["loss"][spec.loss], mappings=text["mappings"][mappings],
        epochs=exp1["epochs"], search_folds=exp1["hyperparameter_search"]["n_folds"],
        search=exp1["hyperparameter_search"]["enabled"], n_folds=exp1["n_folds"], n_runs=exp1["n_runs"],
        seed=exp1["seed"], k=config["neighbours"]["table_k"], paper_k=PAPER_K, alpha=exp1["alpha"])
    note = text["notes"].get(number)
    return f"{caption}\n\n{note}" if note else caption


def experiment1_captions(root: Path, config: Mapping) -> dict[str, str]:
    """{"table<N>": caption} of every Experiment 1 paper table."""
    return {f"table{n}": experiment1_caption(root, config, n) for n in PAPER_TABLES}
