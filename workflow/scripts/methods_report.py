"""Adapter: Tables 13 and 14 and the figure's points -> the bridging-vs-retrieval figure and one page with all three."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
import pandas as pd

from crossmodal.figures.methods import plot_bridging_vs_retrieval
from crossmodal.io import atomic_path, log_to
from crossmodal.report.html import read_table_csv, table_page

i, o = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    with atomic_path(o.figure) as tmp:
        plot_bridging_vs_retrieval(pd.read_csv(i.points), tmp)
    note = ("Table 13: the mNNO lens (cosine, self counted, K as in the paper's tables); Table 14: retrieval mAP "
            "beside the webinar's published values. The CSVs keep every decimal.")
    page = table_page(read_table_csv(i.table14), "Table 14: retrieval mAP, I->T and T->I", note,
                      before=[("Table 13: does the method bridge? mNNO(Y-role, F) against mNNO(X, F)", read_table_csv(i.table13))],
                      figure=("Bridging against retrieval, one point per method and dataset", Path(o.figure).read_bytes()))
    with atomic_path(o.page) as tmp:
        tmp.write_text(page, encoding="utf-8")
