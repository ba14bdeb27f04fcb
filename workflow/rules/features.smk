# Features: one job per (video, feature spec). A spec's directory name is <key>-<hash of the spec>,
# so a changed parameter gives a new path and two methods asking for one spec share it.


rule extract_features:
    """Backbone features, dynamic images, temporal max pooling, optical flow or I3D of one video."""
    input:
        feature_source,
    output:
        directory("work/{dataset}/features/{feature}/{split}/{video}.zarr"),
    params:
        spec=lambda wildcards: feature_params(wildcards.feature),
        device=config["device"],
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=lambda wildcards: feature_gpu(wildcards.feature),
    log:
        "logs/features/{dataset}/{feature}/{split}/{video}.log",
    benchmark:
        "logs/benchmarks/features/{dataset}/{feature}/{split}/{video}.tsv"
    conda:
        ENV
    script:
        "../scripts/extract_features.py"


rule feature_index:
    """A spec's stores for every video of a dataset: `snakemake work/<dataset>/features/<key>.json`."""
    input:
        train=lambda wildcards: feature_stores(wildcards.dataset, wildcards.key, "train"),
        test=lambda wildcards: feature_stores(wildcards.dataset, wildcards.key, "test"),
    output:
        "work/{dataset}/features/{key}.json",
    params:
        spec_id=lambda wildcards: spec_id(config, wildcards.key),
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/features/{dataset}/{key}.index.log",
    benchmark:
        "logs/benchmarks/features/{dataset}/{key}.index.tsv"
    conda:
        ENV
    script:
        "../scripts/feature_index.py"
