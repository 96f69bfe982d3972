"""Adapter: published tables + our long tables + stand-in map -> results/tables/comparison.csv."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.io import atomic_path, log_to
from crossmodal.tables.comparison import (
    compare,
    missing_notes,
    normalise_experiment2,
    read_long,
    read_published,
    read_standins,
    summarise_comparison,
)

i = snakemake.input
with log_to(snakemake.log[0]):
    table = compare(
        read_published(i.published),
        read_standins(i.standins),
        read_long(i.experiment1),
        normalise_experiment2(read_long(i.table2), read_long(i.table12)),
    )
    bad = missing_notes(table)
    if len(bad):
        raise ValueError(f"{len(bad)} rows carry a value without a data_note or no value without a reason, e.g. {bad.iloc[0].to_dict()}")
    with atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, index=False)
    print(summarise_comparison(table).to_string(index=False), file=sys.stderr)
