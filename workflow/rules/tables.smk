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


rule table1:
    """Tables 1 (cosine) and 9 (Euclidean), counting self (the paper) and strict, plus the long table."""
    input:
        experiment1_scores(),
    output:
        table1=report("results/tables/table1.csv", caption="../report/table1.rst", category="Tables"),
        table1_strict="results/tables/table1_strict.csv",
        table9="results/tables/table9.csv",
        table9_strict="results/tables/table9_strict.csv",
        long="results/tables/table1_long.csv",
    params:
        k=config["neighbours"]["k"][0],
        alpha=EXP1["alpha"],
        datasets=list(EXP1_DATASETS),
        directions=EXP1["directions"],
        mappings=EXP1["mappings"],
    log:
        "logs/tables/table1.log",
    conda:
        "../../envs/tables.yaml"
    script:
        "../scripts/table1.py"
