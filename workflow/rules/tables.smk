# Tables in the paper's layouts, each with a long-format companion holding every number.


rule table2:
    """Table 2: rho per embedding x benchmark x similarity, with significance and coverage."""
    input:
        experiment2_outputs(),
    output:
        wide=report("results/tables/table2.csv", caption="../report/table2.rst", category="Tables"),
        long="results/tables/table2_long.csv",
    params:
        alpha=config["experiment2"]["alpha"],
    log:
        "logs/tables/table2.log",
    conda:
        "../../envs/tables.yaml"
    script:
        "../scripts/table2.py"
