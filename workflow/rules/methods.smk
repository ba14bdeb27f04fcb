# Methods: train one configured method on a dataset's training stores, then score its test stores.


rule train:
    """Fit a method (GPU when present); checkpoint and per-epoch loss CSV."""
    wildcard_constraints:
        method=TRAINED_RE,
    input:
        frames=train_shard_files,
        features=method_feature_inputs("train"),
    output:
        model="work/{dataset}/models/{method}/model.pt",
        losses="work/{dataset}/models/{method}/train_log.csv",
    params:
        method=lambda wildcards: METHODS[wildcards.method],
        frames=train_stores,
        features=method_features("train"),
        device=config["device"],
    threads: job_resource("train", "threads")
    resources:
        mem_mb=job_resource("train", "mem_mb"),
        runtime=job_resource("train", "runtime"),
        gpu=job_resource("train", "gpu"),
        gpu_model=job_resource("train", "gpu_model"),
        # trainer.devices > 1: one Slurm task per process, started by the engine with srun (docs/cluster.md)
        tasks=job_resource("train", "tasks"),
        tasks_per_gpu=job_resource("train", "tasks_per_gpu"),
        cpus_per_task=job_resource("train", "cpus_per_task"),
        mpi=job_resource("train", "mpi"),
    log:
        "logs/train/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/train/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/train.py"


rule score:
    """Score every test frame (and pixel, where the method has maps)."""
    wildcard_constraints:
        method=TRAINED_RE,
    input:
        model="work/{dataset}/models/{method}/model.pt",
        stores=test_shard_files,
        features=method_feature_inputs("test"),
    output:
        directory("work/{dataset}/scores/{method}.zarr"),
    params:
        stores=test_stores,
        features=method_features("test"),
        device=config["device"],
    threads: job_resource("score", "threads")
    resources:
        mem_mb=job_resource("score", "mem_mb"),
        runtime=job_resource("score", "runtime"),
        gpu=job_resource("score", "gpu"),
        gpu_model=job_resource("score", "gpu_model"),
    log:
        "logs/score/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/score/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/score.py"


rule fuse_scores:
    """Late fusion of two trained methods' scores (Luo et al.'s spatial + temporal streams)."""
    wildcard_constraints:
        method=FUSED_RE,
    input:
        spatial=lambda wildcards: f"work/{wildcards.dataset}/scores/{METHODS[wildcards.method]['params']['spatial']}.zarr",
        temporal=lambda wildcards: f"work/{wildcards.dataset}/scores/{METHODS[wildcards.method]['params']['temporal']}.zarr",
    output:
        directory("work/{dataset}/scores/{method}.zarr"),
    params:
        method=lambda wildcards: METHODS[wildcards.method],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/fuse/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/fuse/{dataset}/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/fuse_scores.py"
