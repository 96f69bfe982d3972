"""crossmodal.report: the comparison heat-map, table views for the Snakemake report, report checks."""
