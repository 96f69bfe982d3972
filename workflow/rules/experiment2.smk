# Experiment 2 (paper section 3.2/4.2): untrained networks vs human similarity ratings.
# Helper functions (embedding names, visual sources, Table 12 slots): experiment2_common.smk.


include: "experiment2_common.smk"


rule benchmark_pairs:
    """Parse one word-similarity benchmark into a clean word1/word2/score table."""
    input:
        lambda wc: source_file(benchmark_source(wc.benchmark)),
    output:
        "results/benchmarks/{benchmark}.tsv",
    params:
        source=lambda wc: benchmark_source(wc.benchmark),
    log:
        "logs/benchmarks/{benchmark}.log",
    conda:
        "../../envs/experiment2.yaml"
    script:
        "../scripts/benchmark_pairs.py"


rule visual_word_vectors:
    """Word-level visual vectors as KeyedVectors + label file: the concept set's image side, or synset centroids."""
    input:
        visual_vectors_input,
    output:
        kv="results/features/visual/{visual}.kv",
        info="results/features/visual/{visual}.json",
    wildcard_constraints:
        visual=f"{CONCEPT_VISUAL}|synsets-(resnet152|vgg-m-128|efficientnet-lite0)",
    params:
        kind=lambda wc: "concepts" if wc.visual == CONCEPT_VISUAL else "synsets",
    log:
        "logs/features/visual/{visual}.log",
    conda:
        "../../envs/experiment2.yaml"
    script:
        "../scripts/visual_word_vectors.py"


rule experiment2_rhos:
    """Spearman rho of X, f_lin(X), f_nn(X) for one embedding on one benchmark, all seeds."""
    input:
        unpack(experiment2_vectors),
        pairs="results/benchmarks/{benchmark}.tsv",
    output:
        "results/experiment2/{embedding}/{benchmark}.csv",
    wildcard_constraints:
        embedding=alternation(experiment2_embedding_names()),
    params:
        embedding_label=experiment2_label,
        benchmark_label=lambda wc: BENCHMARKS[wc.benchmark].label,
        benchmark_source=lambda wc: benchmark_source(wc.benchmark),
        n_seeds=EXP2["n_seeds"],
        output_dim=EXP2["output_dim"],
        hidden_dim=EXP2["nn_hidden_dim"],
        min_pairs=EXP2["min_pairs"],
    log:
        "logs/experiment2/{embedding}/{benchmark}.log",
    benchmark:
        "benchmarks/results/experiment2/{embedding}/{benchmark}.tsv"
    conda:
        "../../envs/experiment2.yaml"
    script:
        "../scripts/experiment2_rhos.py"
