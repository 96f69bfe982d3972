"""Adapter: results/tables/<name>.csv -> results/report/<name>.html, one standalone page each,
so that the Snakemake report shows every table inline."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.io import atomic_path, log_to
from crossmodal.report.html import read_table_csv, table_page
from crossmodal.tables.comparison import read_comparison, summarise_comparison

p = snakemake.params
with log_to(snakemake.log[0]):
    for name, csv in snakemake.input.items():
        table = read_table_csv(csv)
        before = []
        if name == p.summary:  # the comparison opens with its per-table summary
            before.append(("Summary per published table", summarise_comparison(read_comparison(csv))))
        note = f"{csv} shown as a page; long decimals rounded to 3 places (the CSV keeps them in full)."
        page = table_page(table, p.titles[name], note, before=before)
        with atomic_path(snakemake.output[name]) as tmp:
            tmp.write_text(page, encoding="utf-8")
        print(f"{csv}: {len(table)} rows x {table.shape[1]} columns -> {snakemake.output[name]}", file=sys.stderr)
