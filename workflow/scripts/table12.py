"""Adapter: rho files of the configured word2vec / VGG-128 stand-ins -> Table 12 (paper layout) + long table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.io import atomic_path, log_to
from crossmodal.tables.table2 import read_rhos
from crossmodal.tables.table12 import BenchmarkColumn, Slot, table12

p = snakemake.params
with log_to(snakemake.log[0]):
    slots = [Slot(**s) for s in p.plan]
    for s in slots:
        print(f"{s.slot}: {s.embedding or 'n/a - ' + s.reason}", file=sys.stderr)
    long = read_rhos(snakemake.input) if len(snakemake.input) else None
    wide, summary = table12(long, slots, [BenchmarkColumn(**b) for b in p.benchmarks], alpha=p.alpha)
    with atomic_path(snakemake.output.wide) as tmp:
        wide.to_csv(tmp)
    with atomic_path(snakemake.output.long) as tmp:
        summary.to_csv(tmp, index=False)
    print(wide.to_string(), file=sys.stderr)
