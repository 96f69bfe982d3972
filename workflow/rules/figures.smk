# Figures 1 and 2 of the paper, each a PNG (in the report) with the numbers behind it as CSV.
#   figure1: a toy 3-class manifold and its image under an untrained network (no inputs)
#   figure2_curves (one job per dataset, its first feature pair) -> figure2 (the grid)

# Constants, not config: the figures illustrate, the tables are the results.
FIGURE1 = {
    "n_per_class": 100,
    "noise": 0.03,  # std of the jitter around each arc
    "hidden": 16,  # width of the untrained tanh network 2 -> hidden -> 2
    "seed": 0,
    "k": 10,
    "metric": "euclidean",  # the toy lives in the plane, where cosine would only see angles
}
FIGURE2 = {
    "mapping": "nn",
    "k": 10,
    "metric": "cosine",
    "include_self": True,  # the paper's convention (Table 1)
}

rule figure1:
    """Figure 1: a disconnected manifold (3 classes) before and after an untrained network."""
    output:
        png=report("results/figures/figure1.png", caption="../report/figure1.rst", category="Figures"),
        csv="results/figures/figure1.csv",
    params:
        **FIGURE1,
    threads: 1
    resources:
        **resources("torch"),
    log:
        "logs/figures/figure1.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure1.py"


rule figure2_curves:
    """Learning curves of one nn run (first fold/run, both configured directions) on one set."""
    input:
        data="results/experiment1/{dataset}/{image}/{text}/dataset.npz",
        splits=P.splits_file("{dataset}"),
    output:
        "results/figures/figure2/{dataset}/{image}/{text}.csv",
    wildcard_constraints:
        dataset=PLAN.experiment1.wildcards["dataset"],
        image=P.EXP1_WILDCARDS["image"],
        text=P.EXP1_WILDCARDS["text"],
    params:
        device=PLAN.device,
        **FIGURE2,
        directions=list(PLAN.experiment1.directions),
        overrides=PLAN.experiment1.overrides,
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    resources:
        **resources("training"),
    log:
        "logs/figures/figure2/{dataset}/{image}/{text}.log",
    benchmark:
        "benchmarks/results/figures/figure2/{dataset}/{image}/{text}.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure2.py"


rule figure2:
    """Figure 2: the learning curves of every enabled dataset in one grid, plus their long CSV."""
    input:
        PLAN.experiment1.figure2_curves,
    output:
        png=report("results/figures/figure2.png", caption="../report/figure2.rst", category="Figures"),
        csv="results/figures/figure2.csv",
    params:
        **FIGURE2,
        epochs=PLAN.experiment1.epochs,
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/figures/figure2.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure2.py"
