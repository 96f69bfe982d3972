# Experiment 2 (paper section 3.2/4.2): untrained networks vs human similarity ratings.
# Embeddings are the word_vectors keys of experiment2.embeddings, and visual word vectors named
# "visual-<source>" (experiment2.visual): visual-imagenet1k_concepts (the concept set's image side,
# always buildable offline) and visual-synsets-<encoder> (synset centroids, only when
# features.synsets.folder is set); which ones, and what fills Table 12, is PLAN.experiment2.


rule benchmark_pairs:
    """Parse one word-similarity benchmark into a clean word1/word2/score table."""
    input:
        lambda wc: source_file(benchmark_source(wc)),
    output:
        "results/benchmarks/{benchmark}.tsv",
    params:
        source=benchmark_source,
    threads: 1
    resources:
        **resources("light"),
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
        visual=f"{P.CONCEPT_VISUAL}|synsets-({P.alternation(P.ENCODERS)})",
    params:
        kind=lambda wc: "concepts" if wc.visual == P.CONCEPT_VISUAL else "synsets",
    threads: 1
    resources:
        **resources("vectors"),
    log:
        "logs/features/visual/{visual}.log",
    conda:
        "../../envs/experiment2.yaml"
    script:
        "../scripts/visual_word_vectors.py"


rule experiment2_rhos:
    """Spearman rho of X, f_lin(X), f_nn(X) for one embedding on every benchmark, all seeds
    (one job per embedding: its vectors are read once)."""
    input:
        unpack(experiment2_vectors),
        pairs=[f"results/benchmarks/{b.key}.tsv" for b in PLAN.experiment2.benchmarks],
    output:
        [f"results/experiment2/{{embedding}}/{b.key}.csv" for b in PLAN.experiment2.benchmarks],
    wildcard_constraints:
        embedding=P.alternation(PLAN.experiment2.embedding_names),
    params:
        embedding_label=experiment2_label,
        benchmarks=[(b.key, b.label, b.source) for b in PLAN.experiment2.benchmarks],
        n_seeds=PLAN.experiment2.n_seeds,
        output_dim=PLAN.experiment2.output_dim,
        hidden_dim=PLAN.experiment2.hidden_dim,
        min_pairs=PLAN.experiment2.min_pairs,
    threads: 1
    resources:
        **resources("vectors"),
    log:
        "logs/experiment2/{embedding}.log",
    benchmark:
        "benchmarks/results/experiment2/{embedding}.tsv"
    conda:
        "../../envs/experiment2.yaml"
    script:
        "../scripts/experiment2_rhos.py"
