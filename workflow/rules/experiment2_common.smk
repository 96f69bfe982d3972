# Helpers of the Experiment 2 rules (experiment2.smk, the table2/table12 tables): embedding names,
# visual word-vector sources, Table 12 slots. Functions only; included by experiment2.smk.
#
# Embeddings: the word_vectors keys of experiment2.embeddings, and visual word vectors named
# "visual-<source>" (experiment2.visual): visual-imagenet1k_concepts (the concept set's image
# side, always buildable offline) and visual-synsets-<encoder> (synset centroids, only when
# features.synsets.folder is set). Both kinds end up as results/experiment2/{embedding}/{benchmark}.csv.

EXP2 = config["experiment2"]
VISUAL_PREFIX = "visual-"
CONCEPT_VISUAL = "imagenet1k_concepts"
# Paper Table 12's embeddings: why a slot is empty when nothing at hand fills it.
TABLE12_MISSING = {
    "word2vec": (
        "not available offline: word2vec GoogleNews-300d is not installed (no PyPI package), {where}; "
        "add a word_vectors entry (format word2vec-bin, your file) and set experiment2.table12.word2vec to its key"
    ),
    "vgg128": (
        "not available offline: VGG-128 word-level visual vectors need ImageNet images (features.synsets.folder, "
        "with features.synsets.encoder vgg-m-128) and the VGG-M-128 weights (registry imagenet_vgg_m_128_mat); "
        "{where}; once both are configured, auto uses visual-synsets-vgg-m-128"
    ),
}

_clash = [k for k in config["word_vectors"] if k.startswith(VISUAL_PREFIX)]
if _clash:
    raise WorkflowError(f"word_vectors keys must not start with {VISUAL_PREFIX!r} (reserved for visual embeddings): {_clash}")


def visual_sources_available():
    """Visual word-vector sources this config can build: the concept set always, synsets with a folder."""
    out = [CONCEPT_VISUAL]
    if FEATURES["synsets"]["folder"]:
        out.append(f"synsets-{FEATURES['synsets']['encoder']}")
    return out


def visual_embeddings():
    """experiment2.visual as embedding names (auto: every available source)."""
    chosen = EXP2["visual"]
    if chosen == "auto":
        return [VISUAL_PREFIX + v for v in visual_sources_available()]
    names = []
    for source in chosen:
        if source == "synsets":
            if not FEATURES["synsets"]["folder"]:
                raise WorkflowError("experiment2.visual names synsets, but features.synsets.folder is not set")
            source = f"synsets-{FEATURES['synsets']['encoder']}"
        names.append(VISUAL_PREFIX + source)
    return names


def experiment2_embeddings():
    """Table 2's embeddings in row order: word vectors, then visual."""
    return list(EXP2["embeddings"]) + visual_embeddings()


def is_visual(embedding):
    return embedding.startswith(VISUAL_PREFIX)


def experiment2_vectors(wildcards):
    """The KeyedVectors of an embedding; a visual one also gives its label file."""
    if is_visual(wildcards.embedding):
        stem = f"results/features/visual/{wildcards.embedding[len(VISUAL_PREFIX):]}"
        return {"vectors": f"{stem}.kv", "info": f"{stem}.json"}
    word_vector_spec(wildcards.embedding)  # an unknown key fails here, naming the config keys
    return {"vectors": f"results/features/words/{wildcards.embedding}.kv"}


def experiment2_label(wildcards):
    """A word-vector set's config label; None for a visual one (read from its label file)."""
    return None if is_visual(wildcards.embedding) else word_vector_spec(wildcards.embedding)["label"]


def visual_vectors_input(wildcards):
    if wildcards.visual == CONCEPT_VISUAL:
        return experiment1_dataset_file("imagenet1k_concepts", CONCEPT_IMAGE_FEATURE, CONCEPT_TEXT_FEATURE)
    return f"results/features/synsets/{wildcards.visual[len('synsets-'):]}.npz"


def table12_slot(slot):
    """(embedding name or None, reason) for one of Table 12's slots."""
    value = EXP2["table12"][slot]
    if value is None:
        return None, f"not configured (experiment2.table12.{slot} is null)"
    if value != "auto":
        valid = set(config["word_vectors"]) | {VISUAL_PREFIX + v for v in visual_sources_available()}
        if value not in valid:
            raise WorkflowError(
                f"experiment2.table12.{slot}: {value!r} is neither a word_vectors key nor an available visual "
                f"embedding (have: {sorted(valid)})"
            )
        return value, ""
    if slot == "word2vec":
        users = [k for k, spec in config["word_vectors"].items() if "word2vec_googlenews" in spec.get("sources", [])]
        in_mirror = at_hand("word2vec_googlenews")
        if users and in_mirror:
            return users[0], ""
        problems = [] if in_mirror else ["it is not in the mirror" if MIRROR_DIR else "no mirror_dir is set"]
        if not users:
            problems.append("no word_vectors entry uses registry entry word2vec_googlenews")
        return None, TABLE12_MISSING[slot].format(where=" and ".join(problems))
    synsets = FEATURES["synsets"]
    if synsets["folder"] and synsets["encoder"] == "vgg-m-128":
        return f"{VISUAL_PREFIX}synsets-vgg-m-128", ""
    where = (
        f"features.synsets uses encoder {synsets['encoder']}, not vgg-m-128"
        if synsets["folder"]
        else "features.synsets.folder is not set"
    )
    return None, TABLE12_MISSING[slot].format(where=where)


def table12_plan():
    """The Table 12 slots (crossmodal.tables.table12.Slot fields), in the paper's order."""
    plan = []
    for slot, paper_label in TABLE12_PAPER_SLOTS:
        embedding, reason = table12_slot(slot)
        plan.append({"slot": slot, "paper_label": paper_label, "embedding": embedding, "reason": reason})
    return plan


def table12_inputs():
    embeddings = list(dict.fromkeys(s["embedding"] for s in table12_plan() if s["embedding"]))
    return expand("results/experiment2/{embedding}/{benchmark}.csv", embedding=embeddings, benchmark=experiment2_benchmarks())


def experiment2_benchmark_columns():
    """(key, label, source) of the configured benchmarks, in the paper's column order."""
    return [
        {"key": b, "label": BENCHMARKS[b].label, "source": benchmark_source(b)}
        for b in experiment2_benchmarks()
    ]


def experiment2_embedding_names():
    """Every embedding name an experiment2 output may have (wildcard constraint)."""
    return list(config["word_vectors"]) + [VISUAL_PREFIX + v for v in visual_sources_available()]
