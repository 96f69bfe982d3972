# Experiment 2 (paper section 3.2/4.2): untrained networks vs human similarity ratings.


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


rule experiment2_rhos:
    """Spearman rho of X, f_lin(X), f_nn(X) for one embedding on one benchmark, all seeds."""
    input:
        vectors="results/features/words/{embedding}.kv",
        pairs="results/benchmarks/{benchmark}.tsv",
    output:
        "results/experiment2/{embedding}/{benchmark}.csv",
    params:
        embedding_label=lambda wc: word_vector_spec(wc.embedding)["label"],
        benchmark_label=lambda wc: BENCHMARKS[wc.benchmark].label,
        benchmark_source=lambda wc: benchmark_source(wc.benchmark),
        n_seeds=config["experiment2"]["n_seeds"],
        output_dim=config["experiment2"]["output_dim"],
        hidden_dim=config["experiment2"]["nn_hidden_dim"],
    log:
        "logs/experiment2/{embedding}/{benchmark}.log",
    benchmark:
        "benchmarks/results/experiment2/{embedding}/{benchmark}.tsv"
    conda:
        "../../envs/experiment2.yaml"
    script:
        "../scripts/experiment2_rhos.py"
