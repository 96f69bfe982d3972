"""Adapter: experiment1_long.csv -> results/figures/heatmap.png (mNNO(X,f(X)) - mNNO(Y,f(X)))."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from crossmodal.io import atomic_path, log_to
from crossmodal.report.heatmap import heatmap_cells, legend_lines, plot_heatmap
from crossmodal.tables.comparison import read_long

with log_to(snakemake.log[0]):
    long = read_long(snakemake.input[0])
    cells = heatmap_cells(long, k=snakemake.params.k, self_rule=snakemake.params.self_rule)
    with atomic_path(snakemake.output[0]) as tmp:
        plot_heatmap(cells, tmp, k=snakemake.params.k, self_rule=snakemake.params.self_rule, legend=legend_lines(long))
    print(cells.to_string(index=False), file=sys.stderr)
