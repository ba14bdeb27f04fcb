# Data: synthetic generation, the per-dataset video listing (a checkpoint), per-video decode.


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
    """List a dataset's videos; the per-video jobs below are planned from this list."""
    input:
        dataset_root,
    output:
        "work/{dataset}/manifest.json",
    params:
        adapter=lambda wildcards: dataset_cfg(wildcards.dataset)["adapter"],
        options=lambda wildcards: dataset_cfg(wildcards.dataset).get("options", {}),
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
    """Decode one video (or frame folder) with its labels and masks into a Zarr frame store."""
    input:
        manifest="work/{dataset}/manifest.json",
        sources=video_inputs,
    output:
        directory("work/{dataset}/frames/{split}/{video}.zarr"),
    params:
        decode=lambda wildcards: dataset_cfg(wildcards.dataset).get("decode", {}),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    log:
        "logs/decode/{dataset}/{split}/{video}.log",
    benchmark:
        "logs/benchmarks/decode/{dataset}/{split}/{video}.tsv"
    conda:
        ENV
    script:
        "../scripts/decode.py"
