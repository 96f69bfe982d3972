# Experiment 1 (paper section 4.1/5.1): trained mappings f: X -> Y and the neighbourhoods of f(X).
#   dataset (one per image x text feature pair) -> its folds/runs (one splits file per dataset)
#   -> neighbours of X and Y (cached, per feature)
#   -> hyper-parameter search (one job per dataset x pair x direction x mapping x loss; k-fold CV on training rows)
#   -> training (one job per dataset x pair x direction, for all its settings; each setting's
#      folds/runs trained together as one batched program)
#   -> scores (neighbours of f(X), mNNO, MSE, R2, rank-sum p; grouped like training) -> tables.smk (tables 1, 3-11)


rule experiment1_concepts:
    """The offline ImageNet-1k concept set, with its coverage report beside it."""
    input:
        **{role: source_file(name) for role, name in P.CONCEPT_SOURCES.items()},
    output:
        data="results/experiment1/imagenet1k_concepts/{image}/{text}/dataset.npz",
        coverage="results/experiment1/imagenet1k_concepts/{image}/{text}/coverage.json",
    params:
        multiword=PLAN.experiment1.multiword,
    threads: 1
    resources:
        **resources("vectors"),
    log:
        "logs/experiment1/imagenet1k_concepts/{image}/{text}/dataset.log",
    # Reads GloVe into gensim KeyedVectors and the CNN's weights with torch: the features env.
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/experiment1_concepts.py"


rule experiment1_authors_csv:
    """A dataset from the authors' released CSVs (IAPR TC-12, Wikipedia, ImageNet)."""
    input:
        unpack(experiment1_dataset_inputs),
    output:
        "results/experiment1/{dataset}/{image}/{text}/dataset.npz",
    wildcard_constraints:
        dataset=P.alternation(P.AUTHORS_RELEASE),
    params:
        release=lambda wc: P.AUTHORS_RELEASE[wc.dataset],
        settings=experiment1_dataset_params,
    threads: 1
    resources:
        **resources("light"),
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
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/experiment1/{dataset}/{image}/{text}/dataset.log",
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_wikipedia.py"


rule experiment1_paired:
    """Your own pair of embedding files (experiment1.datasets.<name>: {kind: paired, x, y}) as a dataset."""
    input:
        unpack(experiment1_dataset_inputs),
    output:
        "results/experiment1/{dataset}/{image}/{text}/dataset.npz",
    wildcard_constraints:
        dataset=P.alternation(PLAN.experiment1.paired) or "(?!)",  # no paired dataset: matches nothing
    params:
        spec=experiment1_dataset_params,
    threads: 1
    resources:
        **resources("vectors"),
    log:
        "logs/experiment1/{dataset}/{image}/{text}/dataset.log",
    # The readers of crossmodal bridge (gensim for word2vec files, pyarrow for parquet, scipy for .mat).
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/experiment1_paired.py"


rule experiment1_splits:
    """The folds (cv) or runs (split) of one dataset, drawn once from its rows and seed."""
    input:
        experiment1_splits_source,
    output:
        P.splits_file("{dataset}"),
    wildcard_constraints:
        dataset=PLAN.experiment1.wildcards["dataset"],
    params:
        n_folds=PLAN.experiment1.n_folds,
        n_runs=PLAN.experiment1.n_runs,
        seed=PLAN.experiment1.seed,
    threads: 1
    resources:
        **resources("torch"),
    log:
        "logs/experiment1/{dataset}/splits.log",
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_splits.py"


rule experiment1_neighbours:
    """Exclude-self K_max nearest neighbours of one feature set on every test set, both metrics."""
    input:
        data=experiment1_neighbour_source,
        splits=P.splits_file("{dataset}"),
    output:
        "results/neighbours/{dataset}/{modality}/{feature}.npz",
    wildcard_constraints:
        **PLAN.experiment1.wildcards,
    params:
        device=PLAN.device,
        k_max=PLAN.experiment1.k_max,
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    resources:
        **resources("torch"),
    log:
        "logs/neighbours/{dataset}/{modality}/{feature}.log",
    benchmark:
        "benchmarks/results/neighbours/{dataset}/{modality}/{feature}.tsv"
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_neighbours.py"


rule experiment1_cv:
    """Hyper-parameters of one setting by k-fold CV on the training rows (Supplement A)."""
    input:
        data="results/experiment1/{dataset}/{image}/{text}/dataset.npz",
        splits=P.splits_file("{dataset}"),
    output:
        chosen="results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/cv/chosen.json",
        settings="results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/cv/settings.csv",
        runs="results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/cv/runs.csv",
    wildcard_constraints:
        **PLAN.experiment1.wildcards,
    params:
        device=PLAN.device,
        grid=PLAN.experiment1.search_grid,
        criterion=PLAN.experiment1.search_criterion,
        cv_folds=PLAN.experiment1.search_folds,
        max_epochs=PLAN.experiment1.epochs,
        overrides=PLAN.experiment1.overrides,
        seed=PLAN.experiment1.seed,
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    resources:
        **resources("training"),
    log:
        "logs/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/cv.log",
    benchmark:
        "benchmarks/results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/cv.tsv"
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_cv.py"


rule experiment1_train:
    """Every setting (mapping x loss) of one dataset, pair and direction: one map per fold/run,
    trained together; f(X) on the test rows, epoch losses, loss checks. One job, not one per
    setting: starting Python and torch cost as much as training a linear map."""
    input:
        unpack(experiment1_train_inputs),
    output:
        predictions=experiment1_settings("results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/predictions.npz"),
        checks=experiment1_settings("results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/checks.csv"),
    wildcard_constraints:
        **PLAN.experiment1.wildcards,
    params:
        device=PLAN.device,
        settings=list(PLAN.experiment1.settings),
        overrides=PLAN.experiment1.overrides,
        margin=PLAN.experiment1.margin,
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    resources:
        **resources("training"),
    log:
        "logs/experiment1/{dataset}/{image}/{text}/{direction}/train.log",
    benchmark:
        "benchmarks/results/experiment1/{dataset}/{image}/{text}/{direction}/train.tsv"
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_train.py"


rule experiment1_scores:
    """Neighbours of f(X); mNNO against X and Y, mNNO(X, Y), MSE, R2; rank-sum p per table cell.
    Like training, one job scores every setting of a dataset, pair and direction."""
    input:
        data="results/experiment1/{dataset}/{image}/{text}/dataset.npz",
        predictions=experiment1_settings("results/experiment1/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/predictions.npz"),
        nn_x=experiment1_neighbours("x"),
        nn_y=experiment1_neighbours("y"),
    output:
        summary=experiment1_settings("results/scores/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/summary.csv"),
        runs=experiment1_settings("results/scores/{dataset}/{image}/{text}/{direction}/{mapping}/{loss}/runs.csv"),
    wildcard_constraints:
        **PLAN.experiment1.wildcards,
    params:
        device=PLAN.device,
        settings=list(PLAN.experiment1.settings),
        ks=list(PLAN.experiment1.ks),
    threads: 1  # jobs run side by side; torch would otherwise start one thread per core each
    resources:
        **resources("torch"),
    log:
        "logs/scores/{dataset}/{image}/{text}/{direction}.log",
    benchmark:
        "benchmarks/results/scores/{dataset}/{image}/{text}/{direction}.tsv"
    conda:
        "../../envs/experiment1.yaml"
    script:
        "../scripts/experiment1_scores.py"
