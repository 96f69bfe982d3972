# Feature extraction: word vectors, the Wikipedia biGRU text encoder, CNN image features from raw
# images (per image-text dataset, and synset centroids of an ImageNet-style tree), the VGG-M-128
# weight conversion, and the feature sanity check (class-based retrieval mAP, paper Supplement B).


rule word_vectors:
    """Load one configured word-vector set, check it, and save it as gensim KeyedVectors."""
    input:
        word_vector_inputs,
    output:
        "results/features/words/{embedding}.kv",
    params:
        fmt=word_vector_format,
    threads: 1
    resources:
        **resources("vectors"),
    log:
        "logs/features/words/{embedding}.log",
    benchmark:
        "benchmarks/results/features/words/{embedding}.tsv"
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/word_vectors.py"


rule bigru_features:
    """Train the biGRU on the Wikipedia training texts; 64-d train/test features in list order."""
    input:
        unpack(bigru_inputs),
    output:
        P.BIGRU_FILE,
    params:
        device=PLAN.device,
        settings=PLAN.features.bigru_settings,
        label=PLAN.features.bigru_label,
    threads: 1  # the GRU's small matrix products gain nothing from more threads (crossmodal.features.bigru)
    resources:
        **resources("training"),
    log:
        "logs/features/text/wikipedia/bigru.log",
    benchmark:
        "benchmarks/results/features/text/wikipedia/bigru.tsv"
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/bigru_features.py"


rule convert_vggm:
    """Convert MatConvNet's imagenet-vgg-m-128.mat to a torch checkpoint (crossmodal.features.vggm)."""
    input:
        source_file("imagenet_vgg_m_128_mat"),
    output:
        P.VGGM_CONVERTED,
    threads: 1
    resources:
        **resources("torch"),
    log:
        "logs/features/weights/vgg-m-128.log",
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/convert_vggm.py"


rule image_features:
    """CNN features of one image-text dataset's images (config features.images.<dataset>)."""
    input:
        unpack(image_set_inputs),
    output:
        "results/features/image/{dataset}/{encoder}.npz",
    wildcard_constraints:
        dataset="[A-Za-z0-9_-]+",
        encoder=P.alternation(P.ENCODERS),
    params:
        device=PLAN.device,
        spec=image_set_spec,
    threads: 1
    resources:
        **resources("images"),
    log:
        "logs/features/image/{dataset}/{encoder}.log",
    benchmark:
        "benchmarks/results/features/image/{dataset}/{encoder}.tsv"
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/image_features.py"


rule synset_centroids:
    """Word-level visual vectors: the mean CNN feature of each synset folder (config features.synsets)."""
    input:
        unpack(synset_inputs),
    output:
        "results/features/synsets/{encoder}.npz",
    wildcard_constraints:
        encoder=P.alternation(P.ENCODERS),
    params:
        device=PLAN.device,
        spec=PLAN.features.synsets,
    threads: 1
    resources:
        **resources("images"),
    log:
        "logs/features/synsets/{encoder}.log",
    benchmark:
        "benchmarks/results/features/synsets/{encoder}.tsv"
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/synset_centroids.py"


rule feature_map:
    """Class-based retrieval mAP of each feature set (test split, query left out) beside the paper's."""
    input:
        unpack(feature_map_inputs),
    output:
        "results/tables/feature_map.csv",
    params:
        plan=[dict(row) for row in PLAN.feature_map],
    threads: 1
    resources:
        **resources("torch"),
    log:
        "logs/tables/feature_map.log",
    benchmark:
        "benchmarks/results/tables/feature_map.tsv"
    # Retrieval over the feature vectors themselves (crossmodal.metrics.peers, torch).
    conda:
        "../../envs/features.yaml"
    script:
        "../scripts/feature_map.py"
