"""Adapter: per-benchmark rho files -> Table 2 (paper layout) and its long companion."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.io import atomic_path, log_to
from crossmodal.tables.table2 import read_rhos, summarise_rhos, table2_wide

with log_to(snakemake.log[0]):
    summary = summarise_rhos(read_rhos(snakemake.input), alpha=snakemake.params.alpha)
    with atomic_path(snakemake.output.wide) as tmp:
        table2_wide(summary).to_csv(tmp)
    with atomic_path(snakemake.output.long) as tmp:
        summary.to_csv(tmp, index=False)
    print(table2_wide(summary).to_string(), file=sys.stderr)
