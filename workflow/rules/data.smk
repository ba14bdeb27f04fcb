# Data: synthetic generation, the per-dataset video listing (a checkpoint), decode by shards of videos (vadflow.data.shards), one store per video.


rule synthesize:
    """Render a synthetic dataset and encode it as MP4 videos in the generic layout."""
    output:
        directory("data/synthetic/{dataset}"),
    params:
        synthetic=synthetic_spec,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        "logs/synthesize/{dataset}.log",
    benchmark:
        "logs/benchmarks/synthesize/{dataset}.tsv"
    conda:
        ENV
    script:
        "../scripts/synthesize.py"


checkpoint list_videos:
    """List a dataset's videos; the decode jobs (shards of videos) are planned from this list; it records frame
    counts. `datasets.<name>.split` replaces the dataset's split (Wan et al.'s reorganised ones); split.csv shows it."""
    input:
        dataset_root,
    output:
        "work/{dataset}/manifest.json",
        "work/{dataset}/split.csv",
    params:
        adapter=lambda wildcards: dataset_cfg(wildcards.dataset)["adapter"],
        options=lambda wildcards: dataset_cfg(wildcards.dataset).get("options", {}),
        split=lambda wildcards: dataset_cfg(wildcards.dataset).get("split", {}),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/list_videos/{dataset}.log",
    benchmark:
        "logs/benchmarks/list_videos/{dataset}.tsv"
    conda:
        ENV
    script:
        "../scripts/list_videos.py"


rule decode:
    """Decode the videos of one shard (consecutive videos up to `shard_frames` frames; one long
    video is a shard of its own), each with its labels and masks into its own Zarr frame store."""
    input:
        manifest="work/{dataset}/manifest.json",
        sources=shard_sources,
    output:
        "work/{dataset}/frames/{split}/shard-{shard}.json",
    params:
        decode=lambda wildcards: dataset_cfg(wildcards.dataset).get("decode", {}),
        videos=shard_video_names,
        stores=lambda wildcards: [
            f"work/{wildcards.dataset}/frames/{wildcards.split}/{v}.zarr" for v in shard_video_names(wildcards)
        ],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    log:
        "logs/decode/{dataset}/{split}/shard-{shard}.log",
    benchmark:
        "logs/benchmarks/decode/{dataset}/{split}/shard-{shard}.tsv"
    conda:
        ENV
    script:
        "../scripts/decode.py"
