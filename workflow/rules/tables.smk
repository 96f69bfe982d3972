# Tables in the paper's layouts, each with a long-format companion holding every number.


rule table2:
    """Table 2: rho per embedding x benchmark x similarity, with significance and coverage."""
    input:
        PLAN.experiment2.outputs(),
    output:
        wide=report("results/tables/table2.csv", caption="../report/table2.rst", category="Tables"),
        long="results/tables/table2_long.csv",
    params:
        alpha=PLAN.experiment2.alpha,
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/tables/table2.log",
    conda:
        "../../envs/tables.yaml"
    script:
        "../scripts/table2.py"


rule experiment1_tables:
    """Experiment 1 in the paper's layouts (Tables 1, 3-11; self counted, plus strict Tables 1 and 9),
    the long table with every K, metric and self rule, the chosen hyper-parameters and loss checks."""
    input:
        scores=PLAN.experiment1.scores,
        chosen=PLAN.experiment1.chosen,
        checks=PLAN.experiment1.checks,
    output:
        table1=report("results/tables/table1.csv", caption="../report/table1.rst", category="Tables"),
        table3=report("results/tables/table3.csv", caption="../report/table3.rst", category="Tables"),
        table4=report("results/tables/table4.csv", caption="../report/table4.rst", category="Tables"),
        table5=report("results/tables/table5.csv", caption="../report/table5.rst", category="Tables"),
        table6=report("results/tables/table6.csv", caption="../report/table6.rst", category="Tables"),
        table7=report("results/tables/table7.csv", caption="../report/table7.rst", category="Tables"),
        table8=report("results/tables/table8.csv", caption="../report/table8.rst", category="Tables"),
        table9=report("results/tables/table9.csv", caption="../report/table9.rst", category="Tables"),
        table10=report("results/tables/table10.csv", caption="../report/table10.rst", category="Tables"),
        table11=report("results/tables/table11.csv", caption="../report/table11.rst", category="Tables"),
        table1_strict="results/tables/table1_strict.csv",
        table9_strict="results/tables/table9_strict.csv",
        long="results/tables/experiment1_long.csv",
        hyperparameters=report("results/tables/hyperparameters.csv", caption="../report/hyperparameters.rst", category="Experiment 1 details"),
        checks=report("results/tables/training_checks.csv", caption="../report/training_checks.rst", category="Experiment 1 details"),
    params:
        k=PLAN.experiment1.table_k,
        alpha=PLAN.experiment1.alpha,
        datasets=list(PLAN.experiment1.names),
        directions=list(PLAN.experiment1.directions),
        mappings=list(PLAN.experiment1.mappings),
        captions=experiment1_captions(),  # shown by workflow/report/table<N>.rst
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/tables/experiment1.log",
    conda:
        "../../envs/tables.yaml"
    script:
        "../scripts/experiment1_tables.py"


rule table12:
    """Table 12 (Supplement): Table 2's layout for word2vec and VGG-128; an unavailable one is n/a with its reason."""
    input:
        PLAN.experiment2.table12_inputs,
    output:
        wide=report("results/tables/table12.csv", caption="../report/table12.rst", category="Tables"),
        long="results/tables/table12_long.csv",
    params:
        plan=[asdict(slot) for slot in PLAN.experiment2.table12],
        benchmarks=[asdict(b) for b in PLAN.experiment2.benchmarks],
        alpha=PLAN.experiment2.alpha,
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/tables/table12.log",
    conda:
        "../../envs/tables.yaml"
    script:
        "../scripts/table12.py"
