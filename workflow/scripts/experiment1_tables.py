"""Adapter: Experiment 1 score summaries -> the paper-layout tables 1, 3-11, the long table,
the chosen hyper-parameters and the training-loss checks."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import pandas as pd

from crossmodal.io import atomic_path, log_to
from crossmodal.tables import table1 as t1

p, i, o = snakemake.params, snakemake.input, snakemake.output


def write(frame: pd.DataFrame, path: str, index: bool = False) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index)


with log_to(snakemake.log[0]):
    long = pd.concat([pd.read_csv(f, keep_default_na=False) for f in i.scores], ignore_index=True)
    long = t1.adjust_pvalues(t1.order_long(long, p.datasets, p.directions, p.mappings), p.alpha)
    for number, spec in t1.PAPER_TABLES.items():
        for rule, path in (("include", o[f"table{number}"]), ("exclude", o.get(f"table{number}_strict"))):
            if path is None:
                continue
            wide = t1.paper_table_wide(long, spec, p.k, rule)
            write(wide, path, index=True)
            print(f"{Path(path).name}:\n{wide.to_string()}", file=sys.stderr)
    write(long, o.long)
    chosen = t1.chosen_table([json.loads(Path(f).read_text()) for f in i.chosen])
    write(t1.hyperparameters_table(long, chosen), o.hyperparameters)
    jobs = [dict(zip(("dataset", "image_feature", "text_feature", "direction", "mapping", "loss"), Path(f).parts[-7:-1]))
            for f in i.checks]
    checks = t1.checks_table([(job, pd.read_csv(f)) for job, f in zip(jobs, i.checks)])
    write(checks, o.checks)
    print(f"training runs whose loss did not decrease steadily: {int((~checks['steady']).sum())} of {len(checks)}",
          file=sys.stderr)
