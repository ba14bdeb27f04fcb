# Features: one job per (shard of videos, feature spec), each video in its own store. A spec's
# directory name is <key>-<hash of the spec>, so a changed parameter gives a new path and two
# methods asking for one spec share it.


rule extract_features:
    """Backbone features, dynamic images, temporal max pooling, optical flow or I3D of the videos of
    one shard (the backbone is loaded once per job)."""
    input:
        feature_source,
    output:
        "work/{dataset}/features/{feature}/{split}/shard-{shard}.json",
    params:
        spec=lambda wildcards: feature_params(wildcards.feature),
        sources=lambda wildcards: feature_shard_stores(wildcards)[0],
        stores=lambda wildcards: feature_shard_stores(wildcards)[1],
        device=config["device"],
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=lambda wildcards: feature_gpu(wildcards.feature),
        gpu_model=lambda wildcards: gpu_model(feature_gpu(wildcards.feature)),
    log:
        "logs/features/{dataset}/{feature}/{split}/shard-{shard}.log",
    benchmark:
        "logs/benchmarks/features/{dataset}/{feature}/{split}/shard-{shard}.tsv"
    conda:
        ENV
    script:
        "../scripts/extract_features.py"


rule feature_index:
    """A spec's stores for every video of a dataset: `snakemake work/<dataset>/features/<key>.json`."""
    input:
        train=lambda wildcards: feature_shard_files(wildcards.dataset, wildcards.key, "train"),
        test=lambda wildcards: feature_shard_files(wildcards.dataset, wildcards.key, "test"),
    output:
        "work/{dataset}/features/{key}.json",
    params:
        spec_id=lambda wildcards: spec_id(config, wildcards.key),
        train=lambda wildcards: feature_stores(wildcards.dataset, wildcards.key, "train"),
        test=lambda wildcards: feature_stores(wildcards.dataset, wildcards.key, "test"),
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
