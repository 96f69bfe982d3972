"""Adapter: Experiment 1 score summaries -> Tables 1 and 9 (paper layout, with/without self) + long."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import pandas as pd

from crossmodal.io import atomic_path, log_to
from crossmodal.tables.table1 import adjust_pvalues, order_long, table1_wide

p, o = snakemake.params, snakemake.output
with log_to(snakemake.log[0]):
    long = pd.concat([pd.read_csv(f, keep_default_na=False) for f in snakemake.input], ignore_index=True)
    long = adjust_pvalues(order_long(long, p.datasets, p.directions, p.mappings), p.alpha)
    for out, metric, rule in ((o.table1, "cosine", "include"), (o.table1_strict, "cosine", "exclude"),
                              (o.table9, "euclidean", "include"), (o.table9_strict, "euclidean", "exclude")):
        wide = table1_wide(long, metric, p.k, rule)
        with atomic_path(out) as tmp:
            wide.to_csv(tmp)
        print(f"{Path(out).name}:\n{wide.to_string()}", file=sys.stderr)
    with atomic_path(o.long) as tmp:
        long.to_csv(tmp, index=False)
