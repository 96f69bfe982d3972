# Experiment 1 (paper section 4.1/5.1): trained mappings f: X -> Y and the neighbourhoods of f(X).
#   dataset (one per image x text feature pair) -> neighbours of X and Y (cached, per feature)
#   -> training (one job per dataset x pair x direction x mapping, looping over folds/runs)
#   -> scores (neighbours of f(X), mNNO, MSE, R2, rank-sum p) -> tables.smk (table1, table9)


rule experiment1_concepts:
    """The offline ImageNet-1k concept set, with its coverage report beside it."""
    input:
        **{role: source_file(name) for role, name in CONCEPT_SOURCES.items()},
    output:
        data="results/experiment1/imagenet1k_concepts/{image}/{text}/dataset.npz",
        coverage="results/experiment1/imagenet1k_concepts/{image}/{text}/coverage.json",
    params:
        multiword=EXP1["datasets"]["imagenet1k_concepts"]["multiword"],
    log:
        "logs/experiment1/imagenet1k_concepts/{image}/{text}/dataset.log",
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_concepts.py"


rule experiment1_authors_csv:
    """A dataset from the authors' released CSVs (IAPR TC-12, Wikipedia, ImageNet)."""
    input:
        unpack(experiment1_dataset_inputs),
    output:
        "results/experiment1/{dataset}/{image}/{text}/dataset.npz",
    wildcard_constraints:
        dataset=alternation(AUTHORS_RELEASE),
    params:
        release=lambda wc: AUTHORS_RELEASE[wc.dataset],
        settings=experiment1_dataset_params,
    log:
        "logs/experiment1/{dataset}/{image}/{text}/dataset.log",
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_authors_csv.py"


rule experiment1_wikipedia:
    """The Wikipedia dataset's official split with its own features (or a text-feature file)."""
    input:
        unpack(experiment1_dataset_inputs),
    output:
        "results/experiment1/{dataset}/{image}/{text}/dataset.npz",
    wildcard_constraints:
        dataset="wikipedia",
    log:
        "logs/experiment1/{dataset}/{image}/{text}/dataset.log",
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_wikipedia.py"


rule experiment1_neighbours:
    """Exclude-self K_max nearest neighbours of one feature set on every test set, both metrics."""
    input:
        experiment1_neighbour_source,
    output:
        "results/neighbours/{dataset}/{modality}/{feature}.npz",
    wildcard_constraints:
        **EXP1_WILDCARDS,
    params:
        k_max=max(config["neighbours"]["k"]),
        n_folds=EXP1["n_folds"],
        n_runs=EXP1["n_runs"],
        seed=EXP1["seed"],
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    log:
        "logs/neighbours/{dataset}/{modality}/{feature}.log",
    benchmark:
        "benchmarks/results/neighbours/{dataset}/{modality}/{feature}.tsv"
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_neighbours.py"


rule experiment1_train:
    """Train one mapping per fold/run; f(X) on the test rows and the epoch losses."""
    input:
        "results/experiment1/{dataset}/{image}/{text}/dataset.npz",
    output:
        "results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/predictions.npz",
    wildcard_constraints:
        **EXP1_WILDCARDS,
    params:
        overrides=experiment1_hyperparameters(),
        n_folds=EXP1["n_folds"],
        n_runs=EXP1["n_runs"],
        seed=EXP1["seed"],
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    log:
        "logs/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/train.log",
    benchmark:
        "benchmarks/results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/train.tsv"
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_train.py"


rule experiment1_scores:
    """Neighbours of f(X); mNNO against X and Y, mNNO(X, Y), MSE, R2; rank-sum p per table cell."""
    input:
        data="results/experiment1/{dataset}/{image}/{text}/dataset.npz",
        predictions="results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/predictions.npz",
        nn_x=lambda wc: experiment1_neighbours(wc, "x"),
        nn_y=lambda wc: experiment1_neighbours(wc, "y"),
    output:
        summary="results/scores/{dataset}/{image}/{text}/{direction}/{mapping}/summary.csv",
        runs="results/scores/{dataset}/{image}/{text}/{direction}/{mapping}/runs.csv",
    wildcard_constraints:
        **EXP1_WILDCARDS,
    params:
        ks=config["neighbours"]["k"],
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    log:
        "logs/scores/{dataset}/{image}/{text}/{direction}/{mapping}.log",
    benchmark:
        "benchmarks/results/scores/{dataset}/{image}/{text}/{direction}/{mapping}.tsv"
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_scores.py"
