"""Adapter: the per-dataset method results -> Tables 13 and 14, all chosen hyper-parameters, the figure's points."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import pandas as pd

from crossmodal.io import atomic_path, log_to
from crossmodal.tables import methods as mt

i, p, o = snakemake.input, snakemake.params, snakemake.output
with log_to(snakemake.log[0]):
    frames = {kind: pd.concat([pd.read_csv(f) for f in i.dataset_files if f.endswith(f"/{kind}.csv")], ignore_index=True)
              for kind in ("mnno", "retrieval", "hyperparameters")}
    t13 = mt.table13(frames["mnno"], "cosine", p.k, "include", p.alpha)
    t14 = mt.table14(frames["retrieval"], pd.read_csv(i.published), mt.recall_ks(frames["retrieval"]))
    outputs = {o.table13: t13, o.table14: t14, o.hyperparameters: frames["hyperparameters"],
               o.points: mt.bridging_vs_retrieval(t13, t14)}
    for path, frame in outputs.items():
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    print(t13.to_string(), file=sys.stderr)
