# External inputs: one rule provides every entry of workflow/sources.yaml at
#   resources/sources/{source}/{filename}
# from the network (pooch), from a mirror folder (--config mirror_dir=DIR), from an HTTP mirror
# (--config mirror_url=URL), or from an installed Python package, verifying checksums and size
# (see the header of workflow/sources.yaml).


rule fetch_source:
    output:
        "resources/sources/{source}/{filename}",
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/sources/{source}/{filename}.log",
    wildcard_constraints:
        source=P.alternation(SOURCES),
        filename=P.alternation(s.filename for s in SOURCES.values()),
    params:
        # Only file/archive sources read the mirror, so switching it on does not refetch packages.
        mirror_dir=lambda wc: MIRROR_DIR if SOURCES[wc.source].kind != "package" else None,
        mirror_url=lambda wc: MIRROR_URL if SOURCES[wc.source].kind != "package" else None,
    conda:
        "../../envs/sources.yaml"
    script:
        "../scripts/fetch_source.py"
