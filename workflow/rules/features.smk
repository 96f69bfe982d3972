# Feature extraction: word vectors (image encoders and the biGRU come with the features issue).


rule word_vectors:
    """Load one configured word-vector set, check it, and save it as gensim KeyedVectors."""
    input:
        word_vector_inputs,
    output:
        "results/features/words/{embedding}.kv",
    params:
        fmt=lambda wc: word_vector_spec(wc.embedding)["format"],
    log:
        "logs/features/words/{embedding}.log",
    benchmark:
        "benchmarks/results/features/words/{embedding}.tsv"
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/word_vectors.py"
