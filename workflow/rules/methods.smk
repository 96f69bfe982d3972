# The field's cross-modal methods and the paper's remedies (Tables 13 and 14), on Experiment 1's datasets:
#   dataset + its splits -> every method, CV-chosen, scored on the test rows (one job per feature pair)
#   -> Tables 13 (mNNO lens) and 14 (retrieval mAP) -> the bridging-vs-retrieval figure and its page
# Which pairs and mappings: crossmodal.plan.Methods (config `methods`, `mapper_plugins`); target `methods`,
# and `all` with methods.in_all.


rule methods_dataset:
    """Every configured method on one dataset's first fold/run: mNNO rows, retrieval rows, chosen hyper-parameters."""
    input:
        data="results/experiment1/{dataset}/{image}/{text}/dataset.npz",
        splits=P.splits_file("{dataset}"),
        plugins=PLAN.methods.plugins,  # mapper_plugins: a changed plugin reruns the job
    output:
        **{kind: f"results/methods/{{dataset}}/{{image}}/{{text}}/{kind}.csv" for kind in P.METHODS_OUTPUTS},
    wildcard_constraints:
        dataset=PLAN.experiment1.wildcards["dataset"],
        image=P.EXP1_WILDCARDS["image"],
        text=P.EXP1_WILDCARDS["text"],
    params:
        spec=config["methods"],
        mappings=list(PLAN.methods.mappings),
        ks=list(PLAN.methods.ks),
        seed=EXP1["seed"],
        device=config["device"],
    threads: 1  # small models: one thread each, jobs side by side, results independent of the core count
    resources:
        **resources("training"),
    log:
        "logs/methods/{dataset}/{image}/{text}.log",
    benchmark:
        "benchmarks/results/methods/{dataset}/{image}/{text}.tsv"
    conda:
        "../../envs/methods.yaml"
    script:
        "../scripts/methods_dataset.py"


rule methods_tables:
    """Tables 13 and 14 and every chosen hyper-parameter, from the per-dataset results."""
    input:
        dataset_files=PLAN.methods.dataset_files,
        published=local(str(ROOT / "workflow" / "resources" / "webinar_methods.csv")),
    output:
        table13=report(P.METHODS_TABLES[0], caption="../report/table13.rst", category="Cross-modal methods"),
        table14=report(P.METHODS_TABLES[1], caption="../report/table14.rst", category="Cross-modal methods"),
        hyperparameters=P.METHODS_HYPERPARAMETERS,
        points=P.METHODS_POINTS,
    params:
        k=PLAN.methods.table_k,
        alpha=EXP1["alpha"],
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/methods/tables.log",
    conda:
        "../../envs/tables.yaml"
    script:
        "../scripts/methods_tables.py"


rule methods_report:
    """The figure (bridging against retrieval, one point per method and dataset) and one page with both tables."""
    input:
        table13=P.METHODS_TABLES[0],
        table14=P.METHODS_TABLES[1],
        points=P.METHODS_POINTS,
    output:
        figure=report(P.METHODS_FIGURE, caption="../report/methods_figure.rst", category="Cross-modal methods"),
        page=report(P.METHODS_PAGE, caption="../report/methods_page.rst", category="Cross-modal methods"),
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/methods/report.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/methods_report.py"

